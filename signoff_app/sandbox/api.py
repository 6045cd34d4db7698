"""The Slack Web API methods Signoff calls, answering as Slack does (`ok`, `ts`, `error`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from signoff_app.sandbox.blockcheck import check_blocks, check_view
from signoff_app.sandbox.workspace import BOT_USER, Message, View, Workspace

Reply = dict[str, Any]


class SlackError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.reply: Reply = {"ok": False, "error": error, **extra}


def _blocks(args: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = args.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks)


def _view(args: dict[str, Any]) -> dict[str, Any]:
    view = args.get("view") or {}
    return json.loads(view) if isinstance(view, str) else dict(view)


def _require_view_ok(view: dict[str, Any]) -> None:
    problems = check_view(view)
    if problems:
        raise SlackError("invalid_arguments", response_metadata={"messages": problems})


def _require_blocks_ok(blocks: list[dict[str, Any]]) -> None:
    problems = check_blocks(blocks)
    if problems:
        raise SlackError("invalid_blocks", errors=problems)


class WebApi:
    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace
        self.methods: dict[str, Callable[[dict[str, Any]], Reply]] = {
            "auth.test": self.auth_test,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "views.open": self.views_open,
            "views.update": self.views_update,
            "views.publish": self.views_publish,
            "conversations.open": self.conversations_open,
            "conversations.members": self.conversations_members,
            "conversations.history": self.conversations_history,
            "conversations.list": self.conversations_list,
            "users.info": self.users_info,
            "usergroups.users.list": self.usergroup_users,
        }

    def call(self, method: str, args: dict[str, Any]) -> Reply:
        handler = self.methods.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        try:
            with self.ws.lock:
                return {"ok": True, **handler(args)}
        except SlackError as error:
            return error.reply

    def auth_test(self, _args: dict[str, Any]) -> Reply:
        return {"url": "http://127.0.0.1/", "team": "Sandbox", "user": BOT_USER.name, "team_id": self.ws.team_id,
                "user_id": BOT_USER.id, "bot_id": "B0SIGNOFF"}

    def _channel_id(self, ref: str | None) -> str:
        channel = self.ws.channel(ref or "")
        if channel is None:
            raise SlackError("channel_not_found")
        if BOT_USER.id not in channel.members:
            raise SlackError("not_in_channel")
        return channel.id

    def chat_post_message(self, args: dict[str, Any]) -> Reply:
        channel = self._channel_id(args.get("channel"))
        blocks = _blocks(args)
        if not args.get("text") and not blocks:
            raise SlackError("no_text")
        _require_blocks_ok(blocks)
        if len(args.get("text") or "") > 40000:
            raise SlackError("msg_too_long")
        thread_ts = args.get("thread_ts")
        if thread_ts and self.ws.message(channel, thread_ts) is None:
            raise SlackError("thread_not_found")
        metadata = args.get("metadata")
        message = Message(channel, self.ws.next_ts(), args.get("text") or "", blocks, BOT_USER.id, thread_ts,
                          metadata=json.loads(metadata) if isinstance(metadata, str) else metadata)
        self.ws.messages.append(message)
        return {"channel": channel, "ts": message.ts, "message": {"text": message.text, "ts": message.ts}}

    def chat_update(self, args: dict[str, Any]) -> Reply:
        channel = self._channel_id(args.get("channel"))
        message = self.ws.message(channel, args.get("ts") or "")
        if message is None:
            raise SlackError("message_not_found")
        if len(args.get("text") or "") > 4000:
            raise SlackError("msg_too_long")
        blocks = _blocks(args)
        _require_blocks_ok(blocks)
        message.text, message.blocks, message.edited = args.get("text") or message.text, blocks, True
        return {"channel": channel, "ts": message.ts, "text": message.text}

    def chat_post_ephemeral(self, args: dict[str, Any]) -> Reply:
        channel_id = self._channel_id(args.get("channel"))
        user = args.get("user") or ""
        if user not in self.ws.users:
            raise SlackError("user_not_found")
        if user not in self.ws.channels[channel_id].members:
            raise SlackError("user_not_in_channel")
        message = Message(channel_id, self.ws.next_ts(), args.get("text") or "", _blocks(args), BOT_USER.id,
                          args.get("thread_ts"), ephemeral_to=user)
        self.ws.messages.append(message)
        return {"message_ts": message.ts}

    def views_open(self, args: dict[str, Any]) -> Reply:
        trigger_id = args.get("trigger_id") or ""
        user = self.ws.use_trigger(trigger_id)
        if user is None:
            raise SlackError("expired_trigger_id")
        view = _view(args)
        _require_view_ok(view)
        opened = View(self.ws.next_id("V"), user, view, trigger_id)
        self.ws.views[opened.id] = opened
        return {"view": {"id": opened.id, **view}}

    def views_update(self, args: dict[str, Any]) -> Reply:
        existing = self.ws.views.get(args.get("view_id") or "")
        if existing is None:
            raise SlackError("not_found")
        view = _view(args)
        _require_view_ok(view)
        existing.view = view
        return {"view": {"id": existing.id, **view}}

    def views_publish(self, args: dict[str, Any]) -> Reply:
        user = args.get("user_id") or ""
        if user not in self.ws.users:
            raise SlackError("user_not_found")
        view = _view(args)
        if view.get("type") != "home":
            raise SlackError("invalid_arguments", response_metadata={"messages": ["view type must be home"]})
        _require_view_ok(view)
        existing = self.ws.views.get(self.ws.homes.get(user, ""))
        if existing is None:
            existing = View(self.ws.next_id("V"), user, view, "")
            self.ws.views[existing.id] = existing
            self.ws.homes[user] = existing.id
        existing.view = view
        return {"view": {"id": existing.id, **view}}

    def conversations_open(self, args: dict[str, Any]) -> Reply:
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if not users or any(u not in self.ws.users for u in users):
            raise SlackError("user_not_found")
        return {"channel": {"id": self.ws.im_with(users).id}}

    def conversations_members(self, args: dict[str, Any]) -> Reply:
        channel = self.ws.channel(args.get("channel") or "")
        if channel is None:
            raise SlackError("channel_not_found")
        return {"members": list(channel.members), "response_metadata": {"next_cursor": ""}}

    def conversations_list(self, _args: dict[str, Any]) -> Reply:
        return {"channels": [{"id": c.id, "name": c.name, "is_member": BOT_USER.id in c.members}
                             for c in self.ws.channels.values() if not c.is_im],
                "response_metadata": {"next_cursor": ""}}

    def conversations_history(self, args: dict[str, Any]) -> Reply:
        channel = self._channel_id(args.get("channel"))
        if channel != args.get("channel"):
            raise SlackError("channel_not_found")  # as Slack: history is read by channel ID, never by name
        oldest = float(args.get("oldest") or 0)
        found = [m for m in reversed(self.ws.messages)
                 if m.channel == channel and not m.ephemeral_to and not m.thread_ts and float(m.ts) >= oldest]
        show_metadata = str(args.get("include_all_metadata")).lower() in ("true", "1")
        return {"messages": [{"type": "message", "ts": m.ts, "text": m.text, "user": m.user,
                              **({"metadata": m.metadata} if show_metadata and m.metadata else {})}
                             for m in found[: int(args.get("limit") or 100)]], "has_more": False}

    def users_info(self, args: dict[str, Any]) -> Reply:
        user = self.ws.users.get(args.get("user") or "")
        if user is None:
            raise SlackError("user_not_found")
        return {"user": {"id": user.id, "name": user.name, "real_name": user.real_name, "is_bot": user.is_bot,
                         "team_id": self.ws.team_id, "profile": {"real_name": user.real_name,
                                                                   "display_name": user.name}}}

    def usergroup_users(self, args: dict[str, Any]) -> Reply:
        group = self.ws.usergroups.get(args.get("usergroup") or "")
        if group is None:
            raise SlackError("no_such_subteam")
        return {"users": list(group[1])}
