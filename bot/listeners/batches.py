"""Approve all, Reject all, and Review (a modal with a checkbox per item) on a batch message."""

from __future__ import annotations

import json
import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.authz import MembershipCache, refusal, stands_for, via
from bot.listeners.common import record, tell
from bot.views.batch import (
    APPROVE_ALL,
    NOTE_BLOCK,
    PAGE,
    REJECT_ALL,
    REVIEW,
    REVIEW_CALLBACK,
    review_modal,
    reviewed,
)
from signoff import away, notify
from signoff.batches import Batches, decide_items, pending_items
from signoff.runtime import Runtime


def register(app: App, rt: Runtime, members: MembershipCache) -> None:
    batches = Batches(rt.connection)

    def decide(client: WebClient, user: str, channel: str | None, batch_id: str, approve: list[str],
               reject: list[str], note: str | None = None) -> None:
        absences = away.absences(rt)  # one read for the whole batch: delegates decide for those away
        outcome = decide_items(rt, batch_id, by=f"slack:{user}", approve=approve, reject=reject, note=note,
                               refusal=lambda action: refusal(action, user, members, absences=absences),
                               via=lambda action: via(action, user, members),
                               stands_for=lambda action: stands_for(action, user, absences))
        notify.batch_decided(rt, batch_id)
        if outcome.skipped:
            reasons = sorted(set(outcome.skipped.values()))
            tell(client, channel, user, f"{len(outcome.skipped)} item(s) were not decided by you: "
                 + "; ".join(reasons[:3]))

    def everything(body: dict[str, Any], approve: bool, client: WebClient) -> None:
        batch = batches.get(body["actions"][0]["value"])
        waiting = [a.id for a in pending_items(rt, batch)]
        user, channel = body["user"]["id"], body["channel"]["id"]
        if not waiting:
            tell(client, channel, user, "Nothing in this batch is waiting any more.")
            return
        decide(client, user, channel, batch.id, waiting if approve else [], [] if approve else waiting)

    @app.action(APPROVE_ALL)
    def approve_all(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        record(client, body["channel"]["id"], body["user"]["id"], lambda: everything(body, True, client))
        ack()

    @app.action(REJECT_ALL)
    def reject_all(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        record(client, body["channel"]["id"], body["user"]["id"], lambda: everything(body, False, client))
        ack()

    @app.action(REVIEW)
    def review(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        batch_id, _, page = body["actions"][0]["value"].partition(":")
        batch = batches.get(batch_id)
        client.views_open(trigger_id=body["trigger_id"], view=review_modal(batch, pending_items(rt, batch),
                                                                           int(page or 0)))

    @app.action(re.compile(f"^{PAGE}_(prev|next)$"))
    def turn_page(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        batch_id, _, page = body["actions"][0]["value"].partition(":")
        batch = batches.get(batch_id)
        client.views_update(view_id=body["view"]["id"], hash=body["view"].get("hash"),
                            view=review_modal(batch, pending_items(rt, batch), int(page)))

    @app.view(REVIEW_CALLBACK)
    def review_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        approve, reject, note = reviewed(view)
        batch_id = json.loads(view["private_metadata"])["batch"]
        user = body["user"]["id"]

        def step() -> None:
            batch = batches.get(batch_id)
            decide(client, user, batch.slack.get("channel"), batch_id, approve, reject, note)

        if record(client, None, user, step):
            ack()
        else:
            ack(response_action="errors", errors={NOTE_BLOCK: "Not recorded: try again in a moment."})
