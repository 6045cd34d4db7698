"""Text that is safe to put in a Slack message, within Slack's limits."""

from __future__ import annotations

import json
import re
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


# Bidi overrides and zero-width characters: they make text read differently from what it says.
_INVISIBLE = re.compile("[\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
# mrkdwn's formatting has no escape: each marker becomes a look-alike that formats nothing.
_MARKUP = [(re.compile(r"\*"), "\u2217"), (re.compile(r"~"), "\u223c"), (re.compile(r"`"), "\u02cb"),
           (re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])"), "\u02cd"),
           (re.compile(r":(?=[a-z0-9_+'-]+:)"), "\ua789")]  # an emoji shortcode's opening colon
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


def clean(text: str) -> str:
    """Agent text without invisible characters; for plain_text, where nothing else is interpreted."""
    return _INVISIBLE.sub("", text)


def escape(text: str) -> str:
    """Agent text safe inside mrkdwn: no mention, link, bold, italics, strike, code or emoji of its own."""
    text = clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for pattern, look_alike in _MARKUP:
        text = pattern.sub(look_alike, text)
    return text


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def mrkdwn(text: str, limit: int) -> str:
    """Escaped, then cut so that the escaping never pushes it over the limit nor splits an entity."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    pieces, size = [], 0
    for char in clean(text):
        piece = escape(char)
        if size + len(piece) > limit - 1:
            break
        pieces.append(piece)
        size += len(piece)
    return "".join(pieces) + ELLIPSIS


def number(value: float) -> str:
    """A number as a person reads it, the same in a header and a field: `1,200`, `1,200.5`, `0.25`;
    past a quadrillion, `1e+308` rather than three hundred digits."""
    if value != value or abs(value) >= 1e15:  # NaN, or too long to read
        return f"{value:.3g}"
    shown = f"{value:,.2f}"
    return shown.rstrip("0").rstrip(".") if "." in shown else shown


def show_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number(value)
    return json.dumps(value, ensure_ascii=False)


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`1 action`, `12 actions`, `1,200 actions`: a number and its noun, singular where it is one."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


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
    user = who.removeprefix("slack:")
    if who.startswith("slack:") and _SLACK_USER.match(user):  # only a real user ID becomes a mention
        return f"<@{user}>"
    return escape(who)


def voter(vote: dict[str, str]) -> str:
    """A vote's person (stored as one normalised identity, `U0BOB`): a Slack user ID becomes a mention; a
    delegate's vote says for whom ("<@U0BOB> for <@U0ALICE> (away)")."""
    who = vote.get("by", "")
    return person(f"slack:{who}" if _SLACK_USER.match(who) else who) + standing_in(vote.get("for"))


def standing_in(away_approver: str | None) -> str:
    """" for <@U0ALICE> (away)" after a delegate's name; "" for anyone deciding as themselves."""
    if not away_approver:
        return ""
    return f" for {person(f'slack:{away_approver}' if _SLACK_USER.match(away_approver) else away_approver)} (away)"
