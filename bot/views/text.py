"""Text that is safe to put in a Slack message, within Slack's limits."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

# Slack's published limits (see ../shared/slack/README.md for those slack-sdk does not check).
MAX_BLOCKS = 50
MAX_MODAL_BLOCKS = 100
SECTION_TEXT = 3000
FIELD_TEXT = 2000
HEADER_TEXT = 150
BUTTON_VALUE = 2000
FALLBACK_TEXT = 4000  # chat.update refuses longer `text` (msg_too_long)
MODAL_TITLE = 24
INPUT_MAX = 3000
OPTION_TEXT = 75
OPTION_VALUE = 150
SHORT_VALUE = 280  # what a parameter shows inline; the rest is one click away

ELLIPSIS = "…"


def escape(text: str) -> str:
    """Slack's control characters: without this an agent could write <!channel> or <@U123> or a fake link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def mrkdwn(text: str, limit: int) -> str:
    """Escaped, then cut so that the escaping never pushes it over the limit nor splits an entity."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    pieces, size = [], 0
    for char in text:
        piece = escape(char)
        if size + len(piece) > limit - 1:
            break
        pieces.append(piece)
        size += len(piece)
    return "".join(pieces) + ELLIPSIS


def show_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def humanize(name: str) -> str:
    return name.replace("_", " ").strip().capitalize() or name


def when(moment: datetime | None) -> str:
    """Slack renders <!date…> in each reader's own timezone; the fallback is UTC."""
    if moment is None:
        return "-"
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def person(who: str | None) -> str:
    """Who decided: a Slack user becomes a mention; anyone else (CLI, policy) is shown escaped."""
    if not who:
        return "-"
    if who.startswith("slack:"):
        return f"<@{who.removeprefix('slack:')}>"
    return escape(who)
