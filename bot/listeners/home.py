"""The Home tab: published when a reviewer opens it; its pages; Open shows one action in full.

Approve and Reject on the tab are the channel message's own buttons (bot.listeners.decisions).
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import home
from bot.authz import MembershipCache
from bot.views.approval import approval_blocks
from bot.views.blocks import plain
from bot.views.home import HOME_PAGE, OPEN
from signoff import homes
from signoff.errors import ActionNotFound
from signoff.runtime import Runtime


def register(app: App, rt: Runtime, members: MembershipCache) -> None:
    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        homes.opened(rt, event["user"])
        home.publish(rt, client, members, event["user"])

    @app.action(re.compile(f"^{HOME_PAGE}_(prev|next)$"))
    def turn_page(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        home.publish(rt, client, members, body["user"]["id"], page=int(body["actions"][0]["value"]))

    @app.action(OPEN)
    def open_action(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            action = rt.store.get(body["actions"][0]["value"])
        except ActionNotFound:
            home.publish(rt, client, members, body["user"]["id"])  # gone: the tab catches up
            return
        client.views_open(trigger_id=body["trigger_id"], view={
            "type": "modal", "title": plain("Action", 24), "close": plain("Close", 24),
            "blocks": approval_blocks(action)[:100]})
