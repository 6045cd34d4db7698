"""Edit: a modal built from the action's schema; errors shown beside each field; a valid edit approves."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.authz import MembershipCache
from bot.listeners.common import clicked, decidable, follow_up, message_ref, record, standing
from bot.views.approval import EDIT
from bot.views.modals import EDIT_CALLBACK, edit_modal, edited_params, field_block, read_metadata
from signoff import lifecycle
from signoff.errors import InvalidParams
from signoff.models import Action
from signoff.runtime import Runtime


def register(app: App, rt: Runtime, members: MembershipCache) -> None:
    @app.action(EDIT)
    def edit(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        action = clicked(rt, members, client, body)
        if action:
            schema = rt.catalog.get(action.type).params_schema
            client.views_open(trigger_id=body["trigger_id"], view=edit_modal(action, schema, message_ref(body)))

    @app.view(EDIT_CALLBACK)
    def edit_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        meta = read_metadata(view)
        user = body["user"]["id"]
        current = rt.store.get(meta["id"])
        params = edited_params(view, rt.catalog.get(current.type).params_schema)
        try:
            lifecycle.edit_params(rt, current, params)
        except InvalidParams as invalid:
            # Slack shows each message beside its field and keeps everything the reviewer typed.
            inputs = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
            errors = {field_block(f): m for f, m in invalid.fields.items() if field_block(f) in inputs}
            ack(response_action="errors", errors=errors or {inputs[0]: "; ".join(invalid.fields.values())})
            return

        decided: list[Action] = []

        def step() -> None:
            if action := decidable(rt, members, client, {**body, "channel": {"id": meta.get("channel")}}, meta["id"]):
                decided.append(lifecycle.decide(rt, meta["id"], "approve", by=f"slack:{user}",
                                                **standing(rt, members, action, user), params=params,
                                                version=meta["version"], current=action, follow_up=False))

        if record(client, meta.get("channel"), user, step):
            ack()
            follow_up(rt, decided)
        else:  # the modal stays open with everything typed
            inputs = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
            ack(response_action="errors", errors={inputs[0]: "Not recorded: try again in a moment."})
