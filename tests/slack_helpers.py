"""Finding what the bot posted in the sandbox, by waiting on the sandbox's own record of calls."""

from __future__ import annotations

import json
from typing import Any

from signoff_app.sandbox.workspace import Message


def text_of(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def mrkdwn_texts(node: Any) -> str:
    """Every mrkdwn text in some Block Kit: where Slack would render mentions and links."""
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "mrkdwn" else []
        return "\n".join(own + [mrkdwn_texts(v) for v in node.values() if isinstance(v, dict | list)])
    if isinstance(node, list):
        return "\n".join(mrkdwn_texts(v) for v in node)
    return ""


def approval_message(sandbox: Any, action_id: str) -> Message:
    def posted() -> Message | None:
        return next((m for m in sandbox.workspace.messages
                     if not m.ephemeral_to and not m.thread_ts and f"`{action_id}`" in text_of(m.blocks)), None)

    return sandbox.wait_for(posted)  # type: ignore[no-any-return]


def ephemeral_to(sandbox: Any, user: str, containing: str) -> Message:
    return sandbox.wait_for(lambda: next(  # type: ignore[no-any-return]
        (m for m in sandbox.workspace.messages if m.ephemeral_to == user and containing in m.text), None))


def updated_with(sandbox: Any, message: Message, containing: str) -> Message:
    sandbox.wait_for(lambda: message.edited and containing in text_of(message.blocks))
    return message


def thread_reply(sandbox: Any, message: Message) -> Message:
    return sandbox.wait_for(lambda: next(  # type: ignore[no-any-return]
        (m for m in sandbox.workspace.messages if m.thread_ts == message.ts), None))


def opened_view(sandbox: Any, callback_id: str) -> Any:
    return sandbox.wait_for(lambda: next(
        (v for v in sandbox.workspace.views.values() if v.view.get("callback_id") == callback_id and not v.closed),
        None))


def home_blocks(sandbox: Any, user: str) -> list[dict[str, Any]]:
    """What the user's Home tab shows now ([] before anything was published for them)."""
    view_id = sandbox.workspace.homes.get(user)
    return sandbox.workspace.views[view_id].view["blocks"] if view_id else []  # type: ignore[no-any-return]
