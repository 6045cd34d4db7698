"""`/signoff pending` lists what waits for you; `/signoff show ID` shows one action; `/signoff away` and
`/signoff back` (bot.listeners.away)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from slack_bolt import Ack, App

from bot.authz import MembershipCache, refusal
from bot.listeners.away import command as away_command
from bot.views.approval import approval_blocks, summary
from bot.views.blocks import context, section
from bot.views.text import MAX_BLOCKS, count, mrkdwn, when
from signoff import away
from signoff.errors import ActionNotFound
from signoff.models import Action, Status
from signoff.runtime import Runtime

#: How many waiting actions one command looks at, newest first, to answer within Slack's 3 seconds.
LOOK_AT = 5000
PAGE = 500

HELP = ("*/signoff pending*: actions waiting for your decision\n"
        "*/signoff show ID*: one action, with its parameters and outcome\n"
        "*/signoff away until 2026-12-28 delegate @someone*: who decides for you while you are away "
        "(*/signoff away*: whether you are; */signoff back*: you are back)")


def register(app: App, rt: Runtime, members: MembershipCache) -> None:
    @app.command("/signoff")
    def signoff_command(ack: Ack, command: dict[str, Any]) -> None:
        words = (command.get("text") or "").split()
        user = command["user_id"]
        if words[:1] == ["pending"]:
            found = yours(rt, user, members, show=MAX_BLOCKS - 2)
            if not found.count:
                ack(text="Nothing waits for your decision. :tada:")
                return
            lines = [section(f"*{mrkdwn(summary(a), 300)}*\n{mrkdwn(a.agent, 100)} · {when(a.created_at)} · "
                             + (f"<#{a.slack['channel']}>" if a.slack.get("channel") else "not posted yet")
                             + f" · `{a.id}`") for a in found.shown]
            more = [context(f"and {found.count - len(lines):,} more")] if found.count > len(lines) else []
            ack(text=found.headline, blocks=[section(f"*{found.headline}*"), *lines, *more])
        elif words[:1] in (["away"], ["back"]):
            ack(text=away_command(rt, user, words))
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


@dataclass
class Yours:
    count: int = 0  # how many of the actions looked at this person may decide
    looked_at: int = 0
    waiting: int = 0  # every waiting action, from the index
    shown: list[Action] = field(default_factory=list)

    @property
    def headline(self) -> str:
        if self.looked_at >= self.waiting:
            return f"{count(self.count, 'action waits', 'actions wait')} for your decision"
        return (f"At least {self.count:,} of the {self.waiting:,} waiting actions are yours to decide "
                f"(the newest {self.looked_at:,} were checked)")


def yours(rt: Runtime, user: str, members: MembershipCache, show: int) -> Yours:
    """The waiting actions this Slack user may decide: a true count, never a cap passed off as one."""
    found = Yours(waiting=rt.store.count(Status.PENDING_APPROVAL))
    absences = away.absences(rt)  # an away approver's delegate decides what waits for them
    while found.looked_at < min(found.waiting, LOOK_AT):
        page = rt.store.newest(Status.PENDING_APPROVAL, limit=PAGE, offset=found.looked_at)
        if not page:
            break
        found.looked_at += PAGE
        mine = [a for a in page if refusal(a, user, members, absences=absences) is None]
        found.count += len(mine)
        found.shown += mine[: max(show - len(found.shown), 0)]
    found.looked_at = min(found.looked_at, found.waiting)
    found.shown.sort(key=lambda a: a.created_at)  # oldest first, as the Home tab lists them: who waits longest
    return found
