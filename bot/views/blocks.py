"""Small constructors for the Block Kit objects the views use."""

from __future__ import annotations

from typing import Any

from bot.views.text import FIELD_TEXT, HEADER_TEXT, SECTION_TEXT, clean, cut

Block = dict[str, Any]


def plain(text: str, limit: int = HEADER_TEXT, emoji: bool = True) -> dict[str, Any]:
    return {"type": "plain_text", "text": cut(text, limit), "emoji": emoji}


def plain_text(text: str) -> dict[str, Any]:
    """Our own short text for an option or a label (75 characters at most, as Slack's options allow)."""
    return plain(text, 75)


def verbatim(text: str, limit: int = SECTION_TEXT) -> dict[str, Any]:
    """Agent text shown exactly as written: plain_text renders no markup, mention or emoji shortcode."""
    return plain(clean(text) or " ", limit, emoji=False)


def md(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def header(text: str) -> Block:
    return {"type": "header", "text": verbatim(text, HEADER_TEXT)}


def quote(text: str) -> Block:
    """A section of agent text, verbatim."""
    return {"type": "section", "text": verbatim(text, SECTION_TEXT)}


def section(text: str, accessory: dict[str, Any] | None = None, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": md(cut(text, SECTION_TEXT))}
    if accessory:
        block["accessory"] = accessory
    if block_id:
        block["block_id"] = block_id
    return block


def fields(texts: list[str], literal: bool = False) -> list[Block]:
    """Sections of at most 10 fields each; `literal` shows agent text verbatim."""
    field = (lambda t: verbatim(t, FIELD_TEXT)) if literal else (lambda t: md(cut(t, FIELD_TEXT)))
    return [{"type": "section", "fields": [field(t) for t in texts[i: i + 10]]} for i in range(0, len(texts), 10)]


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [md(cut(t, SECTION_TEXT)) for t in texts[:10]]}


def divider() -> Block:
    return {"type": "divider"}


def confirm(title: str, text: str, yes: str, no: str, danger: bool = False) -> dict[str, Any]:
    """Slack's "are you sure?" step before a button acts; `text` is mrkdwn, already escaped."""
    step: dict[str, Any] = {"title": plain(title), "text": md(text), "confirm": plain(yes), "deny": plain(no)}
    if danger:
        step["style"] = "danger"
    return step


def button(text: str, action_id: str, value: str, style: str | None = None,
           confirm: dict[str, Any] | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": plain(text, 75), "action_id": action_id, "value": value}
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element
