"""Slack's published Block Kit limits, checked as Slack checks them: a violation is `invalid_blocks`.

Written independently of the bot's own views, so the stand-in catches what the bot gets wrong.
"""

from __future__ import annotations

from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_MODAL_BLOCKS = 100


def _text_len(obj: Any) -> int:
    return len(obj.get("text", "")) if isinstance(obj, dict) else 0


def _check_element(element: dict[str, Any], where: str, problems: list[str]) -> None:
    if len(element.get("action_id", "")) > 255:
        problems.append(f"{where}: action_id over 255 characters")
    if element.get("type") == "button":
        if _text_len(element.get("text")) > 75:
            problems.append(f"{where}: button text over 75 characters")
        if len(element.get("value", "")) > 2000:
            problems.append(f"{where}: button value over 2000 characters")
    if element.get("type") == "plain_text_input":
        for key in ("min_length", "max_length"):
            if key in element and not 0 <= element[key] <= 3000:
                problems.append(f"{where}: {key} outside 0-3000")
        if len(element.get("initial_value", "")) > 3000:
            problems.append(f"{where}: initial_value over 3000 characters")
    for option in element.get("options", []):
        if _text_len(option.get("text")) > 75 or len(option.get("value", "")) > 150:
            problems.append(f"{where}: option text over 75 or value over 150 characters")
    most = {"checkboxes": 10, "radio_buttons": 10, "overflow": 5}.get(element.get("type", ""), 100)
    if len(element.get("options", [])) > most:
        problems.append(f"{where}: more than {most} options")
    if element.get("type") in ("checkboxes", "overflow") and not element.get("options"):
        problems.append(f"{where}: a {element['type']} needs at least one option")
    initial = [o.get("value") for o in element.get("initial_options", [])]
    if any(value not in [o.get("value") for o in element.get("options", [])] for value in initial):
        problems.append(f"{where}: an initial option that is not one of the options")


def check_blocks(blocks: list[dict[str, Any]], limit: int = MAX_MESSAGE_BLOCKS) -> list[str]:
    problems: list[str] = []
    if len(blocks) > limit:
        problems.append(f"more than {limit} blocks ({len(blocks)})")
    block_ids = [b["block_id"] for b in blocks if b.get("block_id")]
    if len(block_ids) != len(set(block_ids)):
        problems.append("a block_id is used twice (each must be unique in a message or view)")
    for n, block in enumerate(blocks):
        where = f"blocks[{n}]"
        kind = block.get("type")
        action_ids = [e.get("action_id") for e in block.get("elements", []) if e.get("action_id")]
        if len(action_ids) != len(set(action_ids)):
            problems.append(f"{where}: an action_id is used twice in one block")
        if len(block.get("block_id", "")) > 255:
            problems.append(f"{where}: block_id over 255 characters")
        if kind == "header" and _text_len(block.get("text")) > 150:
            problems.append(f"{where}: header text over 150 characters")
        if kind == "section":
            if _text_len(block.get("text")) > 3000:
                problems.append(f"{where}: section text over 3000 characters")
            fields = block.get("fields", [])
            if len(fields) > 10:
                problems.append(f"{where}: more than 10 fields")
            if any(_text_len(f) > 2000 for f in fields):
                problems.append(f"{where}: a field over 2000 characters")
            if "text" not in block and not fields:
                problems.append(f"{where}: a section needs text or fields")
            if "accessory" in block:
                _check_element(block["accessory"], where, problems)
        if kind == "context" and len(block.get("elements", [])) > 10:
            problems.append(f"{where}: more than 10 context elements")
        if kind == "actions":
            if len(block.get("elements", [])) > 25:
                problems.append(f"{where}: more than 25 elements")
            for element in block.get("elements", []):
                _check_element(element, where, problems)
        if kind == "input":
            if _text_len(block.get("label")) > 2000:
                problems.append(f"{where}: label over 2000 characters")
            _check_element(block.get("element", {}), where, problems)
    return problems


def check_view(view: dict[str, Any]) -> list[str]:
    """A modal's or a Home tab's view: 100 blocks at most, as Slack allows both."""
    problems = check_blocks(view.get("blocks", []), MAX_MODAL_BLOCKS)
    for key in ("title", "submit", "close"):
        if _text_len(view.get(key)) > 24:
            problems.append(f"{key} over 24 characters")
    if len(view.get("private_metadata", "")) > 3000:
        problems.append("private_metadata over 3000 characters")
    return problems
