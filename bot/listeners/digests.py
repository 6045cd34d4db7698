"""Flag (on a digest item that ran without approval) and Request undo."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.authz import MembershipCache
from bot.listeners.common import record, tell
from bot.views.approval import summary
from bot.views.blocks import button, section
from bot.views.digest import FLAG, UNDO, flagged_text
from bot.views.text import mrkdwn
from signoff import lifecycle
from signoff.errors import SignoffError
from signoff.logging import log
from signoff.runtime import Runtime


def register(app: App, rt: Runtime, members: MembershipCache) -> None:
    def tell_owner(client: WebClient, owner: str | None, text: str) -> bool:
        if not owner or not owner.removeprefix("slack:").startswith(("U", "W")):
            return False
        try:
            dm = client.conversations_open(users=owner.removeprefix("slack:"))["channel"]["id"]
            client.chat_postMessage(channel=dm, text=text)
        except SlackApiError as error:
            log.warning("owner_not_told", owner=owner, error=error.response.get("error"))
            return False
        return True

    @app.action(FLAG)
    def flag(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        user, channel = body["user"]["id"], body["channel"]["id"]
        flagged: list[Any] = []
        # Recorded before the click is acknowledged, like every decision.
        record(client, channel, user, lambda: flagged.append(lifecycle.flag(rt, body["actions"][0]["value"],
                                                                            by=f"slack:{user}")))
        ack()
        if not flagged:
            return
        action = flagged[0]
        told = tell_owner(client, action.owner, f"<@{user}> flagged an action your agent *{mrkdwn(action.agent, 80)}* "
                                                f"ran without approval: {mrkdwn(summary(action), 300)} (`{action.id}`)")
        text = flagged_text(action, f"slack:{user}", told)
        client.chat_postMessage(channel=channel, thread_ts=body["container"]["message_ts"], text=text)
        if rt.catalog.get(action.type).undo:
            client.chat_postEphemeral(channel=channel, user=user, text="Undo it? The undo waits for approval.",
                                      blocks=[section("Undo it? The undo is an action too: it waits for approval.",
                                                      accessory=button("Request undo", UNDO, action.id))])

    @app.action(UNDO)
    def undo(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user, channel = body["user"]["id"], body["channel"]["id"]
        try:
            requested = lifecycle.request_undo(rt, body["actions"][0]["value"], by=f"slack:{user}")
        except SignoffError as refused:
            tell(client, channel, user, str(refused))
            return
        tell(client, channel, user, f"Undo requested (`{requested.id}`): it waits for approval like any action.")
