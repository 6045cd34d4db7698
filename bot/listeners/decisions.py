"""Approve and Reject buttons, the Reject modal, and "show the full value"."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.authz import MembershipCache
from bot.listeners.common import clicked, decidable, message_ref, parse_value, tell
from bot.views.approval import APPROVE, REJECT, SHOW_FULL
from bot.views.modals import REASON_BLOCK, REJECT_CALLBACK, VALUE, full_value_modal, read_metadata, reject_modal
from signoff import lifecycle
from signoff.errors import SignoffError
from signoff.runtime import Runtime


def register(app: App, rt: Runtime, members: MembershipCache) -> None:
    def decide(client: WebClient, user: str, channel: str | None, action_id: str, version: int,
               **decision: Any) -> None:
        try:
            lifecycle.decide(rt, action_id, by=f"slack:{user}", version=version, **decision)
        except SignoffError as refused:  # lost a race, or the action changed since it was shown
            tell(client, channel, user, str(refused))

    @app.action(APPROVE)
    def approve(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        action_id, version = parse_value(body["actions"][0]["value"])
        if decidable(rt, members, client, body, action_id):
            decide(client, body["user"]["id"], body["channel"]["id"], action_id, version, decision="approve")

    @app.action(REJECT)
    def reject(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        action = clicked(rt, members, client, body)
        if action:
            client.views_open(trigger_id=body["trigger_id"], view=reject_modal(action, message_ref(body)))

    @app.view(REJECT_CALLBACK)
    def reject_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        ack()
        meta = read_metadata(view)
        note = (view["state"]["values"].get(REASON_BLOCK, {}).get(VALUE, {}).get("value") or "").strip() or None
        body = {**body, "channel": {"id": meta.get("channel")}}
        if decidable(rt, members, client, body, meta["id"]):
            decide(client, body["user"]["id"], meta.get("channel"), meta["id"], meta["version"], decision="reject",
                   note=note)

    @app.action(re.compile(f"^{SHOW_FULL}_\\d+$"))
    def show_full(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        action_id, index = parse_value(body["actions"][0]["value"])
        action = rt.store.get(action_id)
        name, value = list(action.params.items())[index]
        client.views_open(trigger_id=body["trigger_id"], view=full_value_modal(name, value))
