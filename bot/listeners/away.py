"""Setting yourself away and back: the Home tab's Set away… and I'm back, the Away modal, `/signoff away`."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import home
from bot.authz import MembershipCache
from bot.views.away import AWAY_CALLBACK, BACK, DELEGATE_BLOCK, SET_AWAY, UNTIL_BLOCK, away_modal, entered
from bot.views.text import when
from signoff import away, notify
from signoff.models import utcnow
from signoff.runtime import Runtime

USAGE = "*/signoff away until 2026-12-28 delegate @someone* (delegate optional), */signoff back*"
# Slack escapes a picked mention in a slash command as <@U0BOB|bob> (the manifest's should_escape).
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


def _person(word: str) -> str:
    found = _MENTION.match(word)
    if found:
        return found.group(1)
    if word.startswith("@"):
        raise away.NotSet(f"{word} is not a person Slack recognised: pick them from the @ menu as you type",
                          "delegate")
    return word


def _refresh(rt: Runtime, *users: str | None) -> None:
    notify.absence_changed(rt, *users)  # their tabs, and the waiting messages that name them


def set_for(rt: Runtime, user: str, until_text: str, delegate: str | None) -> away.Away:
    earlier = away.absences(rt).of(user)
    record = away.set_away(rt, user, away.parse_until(until_text), delegate=delegate, by=f"slack:{user}")
    _refresh(rt, user, record.delegate, earlier.delegate if earlier else None)
    return record


def said(record: away.Away) -> str:
    who = f"<@{record.delegate}> decides for you" if record.delegate else "the rules' other approvers decide"
    return (f":palm_tree: You're away until {when(record.until)}: {who}, and you are not pinged. "
            "*/signoff back* when you are.")


def command(rt: Runtime, user: str, words: list[str]) -> str:
    """`/signoff away …` and `/signoff back`: what to answer, privately."""
    if words[:1] == ["back"]:
        ended = away.back(rt, user, by=f"slack:{user}")
        if ended is None:
            return "You weren't away."
        _refresh(rt, user, ended.delegate)
        return "Welcome back: the rules ask you again." + (f" <@{ended.delegate}> no longer decides for you."
                                                          if ended.delegate else "")
    options = words[1:]
    if not options:
        record = away.absences(rt).of(user)
        return said(record) if record else f"You're not away. {USAGE}"
    named = dict(zip(options[::2], options[1::2], strict=False))
    if len(options) % 2 or set(named) - {"until", "delegate"} or "until" not in named:
        return f"Say it as {USAGE}"
    try:
        delegate = _person(named["delegate"]) if "delegate" in named else None
        return said(set_for(rt, user, named["until"], delegate))
    except away.NotSet as refused:
        return f"Not set: {refused}"


def register(app: App, rt: Runtime, members: MembershipCache) -> None:
    @app.action(SET_AWAY)
    def set_away(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=away_modal(utcnow().date()))

    @app.view(AWAY_CALLBACK)
    def away_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        user = body["user"]["id"]
        picked, delegate = entered(view)
        try:
            set_for(rt, user, picked or "", delegate)
        except away.NotSet as refused:
            ack(response_action="errors", errors={DELEGATE_BLOCK if refused.about == "delegate" else UNTIL_BLOCK:
                                                  str(refused)})
            return
        ack()
        home.publish(rt, client, members, user)

    @app.action(BACK)
    def back(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user = body["user"]["id"]
        ended = away.back(rt, user, by=f"slack:{user}")
        if ended is not None:
            _refresh(rt, user, ended.delegate)
        home.publish(rt, client, members, user)
