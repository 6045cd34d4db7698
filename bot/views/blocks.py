"""Small constructors for the Block Kit objects the views use."""

from __future__ import annotations

from typing import Any

from bot.views.text import FIELD_TEXT, HEADER_TEXT, SECTION_TEXT, cut

Block = dict[str, Any]


def plain(text: str, limit: int = HEADER_TEXT) -> dict[str, Any]:
    return {"type": "plain_text", "text": cut(text, limit), "emoji": True}


def md(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, HEADER_TEXT)}


def section(text: str, accessory: dict[str, Any] | None = None, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": md(cut(text, SECTION_TEXT))}
    if accessory:
        block["accessory"] = accessory
    if block_id:
        block["block_id"] = block_id
    return block


def fields(texts: list[str]) -> list[Block]:
    """Sections of at most 10 fields each."""
    return [{"type": "section", "fields": [md(cut(t, FIELD_TEXT)) for t in texts[i: i + 10]]}
            for i in range(0, len(texts), 10)]


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [md(cut(t, SECTION_TEXT)) for t in texts[:10]]}


def divider() -> Block:
    return {"type": "divider"}


def button(text: str, action_id: str, value: str, style: str | None = None,
           confirm: dict[str, Any] | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": plain(text, 75), "action_id": action_id, "value": value}
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element
