"""What Slack sends an app when a person clicks, submits a modal or types a slash command.

Payloads are shaped like Slack's and signed with the app's signing secret, so the bot cannot tell
the sandbox from Slack.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from typing import Any, Protocol

from signoff_app.sandbox.workspace import Message, User, Workspace

FORM = "application/x-www-form-urlencoded"
APP_ID = "A0SIGNOFF"


class BotLink(Protocol):
    """What interactions need of the sandbox: its workspace and address, and a signed line to the bot."""

    workspace: Workspace
    changed: threading.Condition

    @property
    def url(self) -> str: ...

    def sign(self, body: str, timestamp: int | None = None) -> dict[str, str]: ...

    def send_to_bot(self, body: str, content_type: str, headers: dict[str, str] | None = None,
                    signed_at: int | None = None, timeout: float = 10.0) -> tuple[int, str]: ...


class Interactions:
    def __init__(self, sandbox: BotLink) -> None:
        self.sandbox = sandbox

    @property
    def ws(self) -> Workspace:
        return self.sandbox.workspace

    def _user(self, user_id: str) -> dict[str, Any]:
        user: User = self.ws.users[user_id]
        return {"id": user.id, "username": user.name, "name": user.name, "team_id": self.ws.team_id}

    def _envelope(self, kind: str, user_id: str) -> dict[str, Any]:
        return {"type": kind, "user": self._user(user_id), "api_app_id": APP_ID, "token": "unused-legacy-token",
                "team": {"id": self.ws.team_id, "domain": "sandbox"}, "enterprise": None,
                "is_enterprise_install": False, "trigger_id": self.ws.new_trigger(user_id)}

    def _post_payload(self, payload: dict[str, Any], **send: Any) -> tuple[int, str]:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return self.sandbox.send_to_bot(body, FORM, **send)

    def click(self, message: Message, action_id: str, user_id: str, block_id: str | None = None,
              selected: str | None = None, **send: Any) -> tuple[int, str]:
        """A person clicks the button `action_id` of a message (in `block_id`, where several blocks have
        one), or picks the option `selected` of a menu: Slack's `block_actions`."""
        return self._post_payload(self.click_payload(message, action_id, user_id, block_id, selected), **send)

    def signed_click(self, message: Message, action_id: str, user_id: str) -> tuple[str, dict[str, str]]:
        """The body and headers of a click, signed as Slack signs it, for a caller that sends it itself."""
        body = urllib.parse.urlencode({"payload": json.dumps(self.click_payload(message, action_id, user_id))})
        return body, {"Content-Type": FORM, **self.sandbox.sign(body)}

    def click_payload(self, message: Message, action_id: str, user_id: str, block_id: str | None = None,
                      selected: str | None = None) -> dict[str, Any]:
        element, block_id = _find_element(message.blocks, action_id, block_id)
        channel = self.ws.channels[message.channel]
        payload = {
            **self._envelope("block_actions", user_id),
            "container": {"type": "message", "message_ts": message.ts, "channel_id": channel.id,
                          "is_ephemeral": bool(message.ephemeral_to)},
            "channel": {"id": channel.id, "name": channel.name},
            "message": {"type": "message", "ts": message.ts, "text": message.text, "blocks": message.blocks,
                        "user": message.user, "thread_ts": message.thread_ts},
            "state": {"values": {}},
            "response_url": f"{self.sandbox.url}response/{channel.id}/{user_id}",
            "actions": [_acted(element, action_id, block_id, selected)],
        }
        return payload

    def click_in_view(self, view_id: str, action_id: str, user_id: str, block_id: str | None = None,
                      selected: str | None = None, **send: Any) -> tuple[int, str]:
        """A person clicks a button inside an open modal (e.g. a page of a long list) or their Home tab."""
        opened = self.ws.views[view_id]
        element, block_id = _find_element(opened.view.get("blocks", []), action_id, block_id)
        payload = {
            **self._envelope("block_actions", user_id),
            "container": {"type": "view", "view_id": view_id},
            "view": {**opened.view, "id": view_id, "hash": f"{view_id}-hash", "state": {"values": {}}},
            "actions": [_acted(element, action_id, block_id, selected)],
        }
        return self._post_payload(payload, **send)

    def open_home(self, user_id: str, **send: Any) -> tuple[int, str]:
        """A person opens the app's Home tab: the Events API's `app_home_opened`, as Slack sends it."""
        event = {"type": "app_home_opened", "user": user_id, "channel": self.ws.im_with([user_id]).id, "tab": "home",
                 "event_ts": f"{time.time():.6f}"}
        body = json.dumps({"token": "unused-legacy-token", "team_id": self.ws.team_id, "api_app_id": APP_ID,
                           "event": event, "type": "event_callback", "event_id": self.ws.next_id("Ev"),
                           "event_time": int(time.time()), "authorizations": [
                               {"team_id": self.ws.team_id, "user_id": "U0SIGNOFF", "is_bot": True}]})
        return self.sandbox.send_to_bot(body, "application/json", **send)

    def submit(self, view_id: str, user_id: str, values: dict[str, Any], **send: Any) -> tuple[int, str]:
        """A person submits a modal: Slack's `view_submission`. `values` maps block ids to what was entered."""
        opened = self.ws.views[view_id]
        view = opened.view
        state = {block["block_id"]: _state_of(block["element"], values.get(block["block_id"]))
                 for block in view.get("blocks", []) if block.get("type") == "input"}
        payload = {
            **self._envelope("view_submission", user_id),
            "view": {**view, "id": view_id, "team_id": self.ws.team_id, "state": {"values": state},
                     "hash": f"{view_id}-hash", "root_view_id": view_id, "app_id": APP_ID, "bot_id": "B0SIGNOFF"},
            "response_urls": [],
        }
        status, body = self._post_payload(payload, **send)
        reply = json.loads(body) if body.strip().startswith("{") else {}
        if status == 200 and reply.get("response_action") != "errors":
            opened.closed = True  # Slack closes a modal whose submission is acknowledged without errors
        return status, body

    def command(self, text: str, user_id: str, channel_id: str = "C0APPROVALS", command: str = "/signoff",
                **send: Any) -> tuple[int, str]:
        channel = self.ws.channels[channel_id]
        text = self._escaped(text)
        body = urllib.parse.urlencode({
            "token": "unused-legacy-token", "team_id": self.ws.team_id, "team_domain": "sandbox",
            "channel_id": channel.id, "channel_name": channel.name, "user_id": user_id,
            "user_name": self.ws.users[user_id].name, "command": command, "text": text, "api_app_id": APP_ID,
            "is_enterprise_install": "false", "trigger_id": self.ws.new_trigger(user_id),
            "response_url": f"{self.sandbox.url}response/{channel.id}/{user_id}",
        })
        status, reply = self.sandbox.send_to_bot(body, FORM, **send)
        if status == 200 and reply.strip():
            # An acknowledgement with a message: JSON, or (Bolt's `ack(text=...)`) the text itself.
            shown = json.loads(reply) if reply.strip().startswith("{") else {"text": reply}
            self.record_response(channel.id, user_id, shown)
        return status, reply

    def _escaped(self, text: str) -> str:
        """What Slack sends for a command whose manifest says `should_escape: true`: a person picked from the
        @ menu arrives as `<@U0BOB|bob>`; a name that is nobody's stays as typed."""
        names = {u.name: u.id for u in self.ws.users.values()}
        return re.sub(r"(?<![<\w])@([a-z0-9._-]+)",
                      lambda m: f"<@{names[m.group(1)]}|{m.group(1)}>" if m.group(1) in names else m.group(0), text)

    def record_response(self, channel_id: str, user_id: str, response: dict[str, Any]) -> None:
        """A reply through response_url (or a slash command's ack): shown to that user only."""
        if not response.get("text") and not response.get("blocks"):
            return
        with self.ws.lock:
            self.ws.messages.append(Message(channel_id, self.ws.next_ts(), response.get("text", ""),
                                            response.get("blocks", []), "U0SIGNOFF", ephemeral_to=user_id))
        with self.sandbox.changed:
            self.sandbox.changed.notify_all()


def _find_element(blocks: list[dict[str, Any]], action_id: str,
                  block_id: str | None = None) -> tuple[dict[str, Any], str]:
    for block in blocks:
        if block_id is not None and block.get("block_id") != block_id:
            continue
        elements = block.get("elements", []) if block.get("type") == "actions" else [block.get("accessory") or {}]
        for element in elements:
            if element.get("action_id") == action_id:
                return element, block.get("block_id", "")
    raise KeyError(f"no element with action_id {action_id!r} in this message")


def _acted(element: dict[str, Any], action_id: str, block_id: str, selected: str | None) -> dict[str, Any]:
    """What Slack says was clicked: a button's value, or the option picked from a menu."""
    acted = {"type": element["type"], "action_id": action_id, "block_id": block_id, "action_ts": f"{time.time():.6f}"}
    if element["type"] in ("overflow", "static_select"):
        option = next((o for o in element.get("options", []) if o["value"] == selected), None)
        if option is None:
            raise KeyError(f"no option {selected!r} in the menu {action_id!r}")
        return {**acted, "selected_option": option}
    return {**acted, "text": element.get("text"), "value": element.get("value", "")}


def _state_of(element: dict[str, Any], entered: Any) -> dict[str, dict[str, Any]]:
    kind = element["type"]
    action_id = element["action_id"]
    if kind in ("static_select", "radio_buttons"):
        option = next((o for o in element.get("options", []) if o["value"] == entered), None)
        return {action_id: {"type": kind, "selected_option": option}}
    if kind == "datepicker":
        return {action_id: {"type": kind, "selected_date": entered or None}}
    if kind == "users_select":
        return {action_id: {"type": kind, "selected_user": entered or None}}
    if kind == "checkboxes":
        chosen = entered or []
        return {action_id: {"type": kind,
                            "selected_options": [o for o in element.get("options", []) if o["value"] in chosen]}}
    return {action_id: {"type": kind, "value": None if entered is None else str(entered)}}
