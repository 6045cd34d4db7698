""""Approve and allow similar": the overflow menu beside Approve, its modal, and Revoke on the Home tab.

The approval is recorded first, as any approval; the allowance only with it. Whoever may decide the
action may allow similar ones (the rule's approvers, else the channel's members), nobody else.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.authz import MembershipCache
from bot.listeners.common import decidable, follow_up, message_ref, record, standing
from bot.views.allow import ALLOW_CALLBACK, MATCH_BLOCK, allow_modal, reason, ticked
from bot.views.approval import ALLOW_SIMILAR
from bot.views.home import REVOKE
from bot.views.modals import read_metadata
from signoff import allowances, homes, lifecycle
from signoff.errors import SignoffError
from signoff.logging import log
from signoff.models import Action, person
from signoff.runtime import Runtime


def register(app: App, rt: Runtime, members: MembershipCache) -> None:
    @app.action(ALLOW_SIMILAR)
    def allow_similar(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()  # nothing is decided yet: the modal asks which parameters must match
        action_id, _version, days = body["actions"][0]["selected_option"]["value"].split(":")
        action = decidable(rt, members, client, body, action_id)
        if action is not None:
            client.views_open(trigger_id=body["trigger_id"], view=allow_modal(action, int(days), message_ref(body)))

    @app.view(ALLOW_CALLBACK)
    def allow_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        meta = read_metadata(view)
        user, channel = body["user"]["id"], meta.get("channel")
        decided: list[Action] = []

        def step() -> None:
            action = decidable(rt, members, client, {**body, "channel": {"id": channel}}, meta["id"])
            if action is None:
                return
            how = standing(rt, members, action, user)
            if how["stands_for"]:  # standing in is for the actions in front of them, not for similar ones later
                raise SignoffError(f"You decide for <@{how['stands_for']}> while they are away: approve this one "
                                   "on its own; allowing similar ones is theirs to do.")
            approved = lifecycle.decide(rt, action.id, "approve", by=f"slack:{user}", **how, version=meta["version"],
                                        current=action, follow_up=False)
            decided.append(approved)
            # Its author's Home tab shows it once the decision's follow-up refreshes the tabs it concerns.
            allowances.create(rt, action, by=f"slack:{user}", days=int(meta["days"]),
                              requirements=ticked(action, view), reason=reason(view))

        if record(client, channel, user, step):
            ack()
            follow_up(rt, decided)
        else:
            ack(response_action="errors", errors={MATCH_BLOCK: "Not recorded: try again in a moment."})

    @app.action(REVOKE)
    def revoke(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user = body["user"]["id"]
        allowance_id = body["actions"][0]["value"]
        try:
            allowance = allowances.get(rt, allowance_id)
        except allowances.NoSuchAllowance:
            homes.refresh(rt, [user])  # gone already: the Home tab catches up
            return
        if person(allowance.author) != person(user) and user not in rt.policy.admins:
            # The tab shows each person only their own allowances: this click was not made on it.
            log.warning("revoke_refused", allowance_id=allowance_id, slack_user=user, author=allowance.author)
            return
        allowances.revoke(rt, allowance_id, by=f"slack:{user}")
        homes.refresh(rt, [user])
