"""Bolt listeners. Each acknowledges at once; the work after the ack is a few Redis calls."""

from __future__ import annotations

from slack_bolt import App

from bot.authz import MembershipCache
from bot.listeners import allowances, away, batches, commands, decisions, digests, edits, home
from signoff.runtime import Runtime


def register(app: App, rt: Runtime, members: MembershipCache) -> None:
    decisions.register(app, rt, members)
    edits.register(app, rt, members)
    commands.register(app, rt, members)
    batches.register(app, rt, members)
    digests.register(app, rt, members)
    allowances.register(app, rt, members)
    home.register(app, rt, members)
    away.register(app, rt, members)
