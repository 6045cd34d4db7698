"""`/signoff pending` lists what waits for you; `/signoff show ID` shows one action."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.authz import MembershipCache, refusal
from bot.views.approval import approval_blocks, summary
from bot.views.blocks import context, section
from bot.views.text import MAX_BLOCKS, mrkdwn, when
from signoff.errors import ActionNotFound
from signoff.models import Status
from signoff.runtime import Runtime

HELP = ("*/signoff pending*: actions waiting for your decision\n"
        "*/signoff show ID*: one action, with its parameters and outcome")


def register(app: App, rt: Runtime, members: MembershipCache) -> None:
    @app.command("/signoff")
    def signoff_command(ack: Ack, command: dict[str, Any]) -> None:
        words = (command.get("text") or "").split()
        user = command["user_id"]
        if words[:1] == ["pending"]:
            waiting = [a for a in rt.store.newest(Status.PENDING_APPROVAL, limit=200)
                       if refusal(a, user, members) is None]
            if not waiting:
                ack(text="Nothing waits for your decision. :tada:")
                return
            lines = [section(f"*{mrkdwn(summary(a), 300)}*\n{mrkdwn(a.agent, 100)} · {when(a.created_at)} · "
                             + (f"<#{a.slack['channel']}>" if a.slack.get("channel") else "not posted yet")
                             + f" · `{a.id}`") for a in waiting[: MAX_BLOCKS - 2]]
            more = [context(f"and {len(waiting) - len(lines)} more")] if len(waiting) > len(lines) else []
            ack(text=f"{len(waiting)} action(s) wait for you",
                blocks=[section(f"*{len(waiting)} action(s) wait for your decision*"), *lines, *more])
        elif words[:1] == ["show"] and len(words) == 2:
            try:
                action = rt.store.get(words[1])
            except ActionNotFound:
                ack(text=f"No action with id `{mrkdwn(words[1], 100)}`.")
                return
            blocks = [b for b in approval_blocks(action) if b.get("block_id") != "signoff_decision"]
            if action.status == Status.PENDING_APPROVAL and action.slack.get("channel"):
                blocks.append(context(f"Waiting for a decision in <#{action.slack['channel']}>"))
            ack(text=summary(action), blocks=blocks)
        else:
            ack(text=HELP)
