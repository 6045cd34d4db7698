"""Approve and Reject buttons, the Reject modal, and "show the full value".

Each decision is recorded before the click is acknowledged: a click Slack saw answered is a click
that changed the action, or whose reviewer was told why it did not.
"""

from __future__ import annotations

import re
import time
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.authz import MembershipCache
from bot.listeners.common import clicked, decidable, follow_up, message_ref, parse_value, record, standing, tell
from bot.views.approval import APPROVE, EXTEND, REJECT, SHOW_FULL, SHOW_PREVIEW
from bot.views.modals import (
    CONFIRM_CALLBACK,
    REASON_BLOCK,
    REJECT_CALLBACK,
    TYPED_BLOCK,
    VALUE,
    confirm_modal,
    full_value_modal,
    read_metadata,
    reject_modal,
)
from signoff import confirmation, deadlines, lifecycle
from signoff.models import Action
from signoff.runtime import Runtime


def _too_soon(client: WebClient, channel: str | None, user: str, action: Action) -> bool:
    """A rule's `min_review_seconds`: a yes this soon after the request reached Slack is refused, kindly."""
    waiting, posted = action.waiting, action.slack.get("ts")
    if waiting is None or not waiting.min_review_seconds or not posted:
        return False
    left = waiting.min_review_seconds - (time.time() - float(posted))
    if left <= 0:
        return False
    tell(client, channel, user, f"Take a moment to read it: rule *{action.rule}* counts a yes from "
                                f"{waiting.min_review_seconds:g} s after the request was posted ({left:.0f} s to go).")
    return True


def register(app: App, rt: Runtime, members: MembershipCache) -> None:
    @app.action(APPROVE)
    def approve(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        action_id, version = parse_value(body["actions"][0]["value"])
        # From the Home tab there is no channel: a refusal is told in the action's own channel.
        user, channel = body["user"]["id"], (body.get("channel") or {}).get("id")

        decided: list[Action] = []

        def step() -> None:
            action = decidable(rt, members, client, body, action_id)
            if action is None or _too_soon(client, channel or action.slack.get("channel"), user, action):
                return
            if action.waiting is not None and action.waiting.confirm == "typed":
                client.views_open(trigger_id=body["trigger_id"], view=confirm_modal(action, message_ref(body)))
                return
            decided.append(lifecycle.decide(rt, action_id, "approve", by=f"slack:{user}",
                                            **standing(rt, members, action, user), version=version,
                                            current=action, follow_up=False))

        record(client, channel, user, step)
        ack()
        follow_up(rt, decided)

    @app.view(CONFIRM_CALLBACK)
    def confirmed(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        meta = read_metadata(view)
        typed = view["state"]["values"].get(TYPED_BLOCK, {}).get(VALUE, {}).get("value") or ""
        user, channel = body["user"]["id"], meta.get("channel")
        action = rt.store.get(meta["id"])
        if not confirmation.matches(action, typed):
            wanted = confirmation.asked(action)
            ack(response_action="errors", errors={TYPED_BLOCK: f"That is not {wanted.what}: type {wanted.expected}."})
            return
        decided: list[Action] = []

        def step() -> None:
            current = decidable(rt, members, client, {**body, "channel": {"id": channel}}, meta["id"])
            if current is not None and not _too_soon(client, channel, user, current):
                decided.append(lifecycle.decide(rt, meta["id"], "approve", by=f"slack:{user}",
                                                **standing(rt, members, current, user), version=meta["version"],
                                                current=current, follow_up=False, typed=typed))

        if record(client, channel, user, step):
            ack()
            follow_up(rt, decided)
        else:
            ack(response_action="errors", errors={TYPED_BLOCK: "Not recorded: try again in a moment."})

    @app.action(REJECT)
    def reject(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()  # nothing is decided yet: the modal asks for the reason first
        action = clicked(rt, members, client, body)
        if action:
            client.views_open(trigger_id=body["trigger_id"], view=reject_modal(action, message_ref(body)))

    @app.view(REJECT_CALLBACK)
    def reject_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        meta = read_metadata(view)
        note = (view["state"]["values"].get(REASON_BLOCK, {}).get(VALUE, {}).get("value") or "").strip() or None
        user, channel = body["user"]["id"], meta.get("channel")

        decided: list[Action] = []

        def step() -> None:
            if action := decidable(rt, members, client, {**body, "channel": {"id": channel}}, meta["id"]):
                decided.append(lifecycle.decide(rt, meta["id"], "reject", by=f"slack:{user}",
                                                **standing(rt, members, action, user),
                                                version=meta["version"], note=note, current=action, follow_up=False))

        if record(client, channel, user, step):
            ack()
            follow_up(rt, decided)
        else:  # the modal stays open with the reason typed
            ack(response_action="errors", errors={REASON_BLOCK: "Not recorded: try again in a moment."})

    @app.action(EXTEND)
    def extend(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """More time to decide, for those who may decide: by the rule's `extend_by`, as often as it allows."""
        action_id, _ = parse_value(body["actions"][0]["value"])
        user, channel = body["user"]["id"], (body.get("channel") or {}).get("id")
        extended: list[Action] = []

        def step() -> None:
            if decidable(rt, members, client, body, action_id):
                extended.append(deadlines.extend(rt, action_id, by=f"slack:{user}"))

        record(client, channel, user, step)
        ack()
        if extended and extended[0].waiting is not None:
            tell(client, channel or extended[0].slack.get("channel"), user,
                 f"Extended: it now expires {extended[0].waiting.deadline_at:%Y-%m-%d %H:%M} UTC.")

    @app.action(re.compile(f"^{SHOW_FULL}_\\d+$"))
    def show_full(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        action_id, index = parse_value(body["actions"][0]["value"])
        action = rt.store.get(action_id)
        name, value = list(action.params.items())[index]
        client.views_open(trigger_id=body["trigger_id"], view=full_value_modal(name, value))

    @app.action(SHOW_PREVIEW)
    def show_preview(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        action = rt.store.get(body["actions"][0]["value"])
        text = str((action.preview or {}).get("text", ""))
        client.views_open(trigger_id=body["trigger_id"], view=full_value_modal("What it would change", text))
