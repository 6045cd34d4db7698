"""Modals: Edit (built from the action's parameter schema), Reject (with a reason), a full value."""

from __future__ import annotations

import json
from typing import Any

from bot.views.approval import summary
from bot.views.blocks import Block, context, plain, quote, section
from bot.views.text import (
    INPUT_MAX,
    MAX_MODAL_BLOCKS,
    MODAL_TITLE,
    OPTION_TEXT,
    OPTION_VALUE,
    SECTION_TEXT,
    cut,
    humanize,
    mrkdwn,
    show_value,
)
from signoff import confirmation
from signoff.models import Action

EDIT_CALLBACK, REJECT_CALLBACK, FULL_CALLBACK = "signoff_edit_modal", "signoff_reject_modal", "signoff_full_value"
VALUE = "value"
REASON_BLOCK = "reason"
_PREFIX = "p:"


def _metadata(action: Action, message: dict[str, str]) -> str:
    return json.dumps({"id": action.id, "version": action.version, **message})


def read_metadata(view: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(view.get("private_metadata") or "{}"))


def _resolve(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in prop:
        return {**defs[prop["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in prop.items() if k != "$ref"}}
    if "anyOf" in prop:  # Optional[X]: edit it as X
        options = [o for o in prop["anyOf"] if o.get("type") != "null"]
        return {**_resolve(options[0], defs), **{k: v for k, v in prop.items() if k != "anyOf"}} if options else prop
    return prop


def _option(value: Any) -> dict[str, Any]:
    return {"text": plain(cut(show_value(value), OPTION_TEXT), OPTION_TEXT), "value": json.dumps(value)[:OPTION_VALUE]}


def _element(prop: dict[str, Any], current: Any) -> dict[str, Any] | None:
    """The input for one parameter, or None where Slack cannot edit it without losing data."""
    kind = prop.get("type")
    if "enum" in prop:
        options = [_option(v) for v in prop["enum"][:100]]
        element: dict[str, Any] = {"type": "static_select", "action_id": VALUE, "options": options}
        chosen = next((o for o in options if current in prop["enum"] and o["value"] == json.dumps(current)), None)
        if chosen:
            element["initial_option"] = chosen
        return element
    if kind == "boolean":
        yes = {"text": plain("Yes"), "value": "true"}
        element = {"type": "checkboxes", "action_id": VALUE, "options": [yes]}
        if current is True:
            element["initial_options"] = [yes]
        return element
    if kind in ("integer", "number"):
        element = {"type": "number_input", "action_id": VALUE, "is_decimal_allowed": kind == "number"}
        for key, slack_key in (("minimum", "min_value"), ("maximum", "max_value")):
            if key in prop:
                element[slack_key] = str(prop[key])
        if current is not None:
            element["initial_value"] = str(current)
        return element
    # What the reviewer edits is parsed back: JSON, not the display form ("1,200").
    text = "" if current is None else current if isinstance(current, str) else json.dumps(current, ensure_ascii=False)
    if len(text) > INPUT_MAX:
        return None
    if kind == "string" and prop.get("format") == "email":
        element = {"type": "email_text_input", "action_id": VALUE}
    else:
        multiline = kind != "string" or prop.get("x-multiline") or len(text) > 150 or "\n" in text
        element = {"type": "plain_text_input", "action_id": VALUE, "multiline": bool(multiline),
                   "max_length": min(int(prop.get("maxLength", INPUT_MAX)), INPUT_MAX)}
        if "minLength" in prop:
            element["min_length"] = min(int(prop["minLength"]), INPUT_MAX)
    if text:
        element["initial_value"] = text
    return element


def edit_modal(action: Action, schema: dict[str, Any], message: dict[str, str]) -> dict[str, Any]:
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    blocks: list[Block] = [section(f"*{mrkdwn(action.agent, 200)}*: {mrkdwn(action.reason, 1000)}")]
    for name, raw in schema.get("properties", {}).items():
        if len(blocks) >= MAX_MODAL_BLOCKS - 1:
            blocks.append(context("More parameters than a modal can hold: edit them with `signoff approve -p`."))
            break
        prop = _resolve(raw, defs)
        element = _element(prop, action.params.get(name))
        label = humanize(name)
        if element is None or len(_PREFIX + name) > 255:
            blocks.append(context(f"*{mrkdwn(label, 100)}* is too long to edit here and stays as it is."))
            continue
        blocks.append({"type": "input", "block_id": _PREFIX + name, "label": plain(label, 2000), "element": element,
                       "optional": name not in required,
                       **({"hint": plain(cut(prop["description"], 150), 150)} if prop.get("description") else {})})
    return {"type": "modal", "callback_id": EDIT_CALLBACK, "title": plain("Edit and approve", MODAL_TITLE),
            "submit": plain("Approve", MODAL_TITLE), "close": plain("Cancel", MODAL_TITLE),
            "private_metadata": _metadata(action, message), "blocks": blocks}


def edited_params(view: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """What the reviewer entered, as parameters; fields shown but left out of the form keep their value."""
    defs = schema.get("$defs", {})
    params: dict[str, Any] = {}
    for block_id, entry in view.get("state", {}).get("values", {}).items():
        if not block_id.startswith(_PREFIX):
            continue
        name = block_id[len(_PREFIX):]
        state = entry.get(VALUE, {})
        prop = _resolve(schema.get("properties", {}).get(name, {}), defs)
        kind = state.get("type")
        if kind == "static_select":
            option = state.get("selected_option")
            params[name] = json.loads(option["value"]) if option else None
        elif kind == "checkboxes":
            params[name] = bool(state.get("selected_options"))
        else:
            value = state.get("value")
            if value is None or value == "":
                if name not in schema.get("required", []):
                    continue  # left empty: the default applies
                params[name] = value
            elif prop.get("type") in ("array", "object"):
                try:
                    params[name] = json.loads(value)
                except json.JSONDecodeError:
                    params[name] = value  # the schema check reports it next to the field
            else:
                params[name] = value
    return params


def field_block(name: str) -> str:
    return _PREFIX + name


def reject_modal(action: Action, message: dict[str, str]) -> dict[str, Any]:
    return {"type": "modal", "callback_id": REJECT_CALLBACK, "title": plain("Reject", MODAL_TITLE),
            "submit": plain("Reject", MODAL_TITLE), "close": plain("Cancel", MODAL_TITLE),
            "private_metadata": _metadata(action, message),
            "blocks": [section(f"*{mrkdwn(cut(summary(action), 300), 600)}*"),
                       {"type": "input", "block_id": REASON_BLOCK, "optional": True,
                        "label": plain("Why? The agent is told."),
                        "element": {"type": "plain_text_input", "action_id": VALUE, "multiline": True,
                                    "max_length": 2000}}]}


CONFIRM_CALLBACK, TYPED_BLOCK = "signoff_confirm_modal", "typed"


def confirm_modal(action: Action, message: dict[str, str]) -> dict[str, Any]:
    """A rule with `confirm: typed`: the yes counts once the reviewer has typed what it asks."""
    wanted = confirmation.asked(action)
    return {"type": "modal", "callback_id": CONFIRM_CALLBACK, "title": plain("Confirm approval", MODAL_TITLE),
            "submit": plain("Approve", MODAL_TITLE), "close": plain("Cancel", MODAL_TITLE),
            "private_metadata": _metadata(action, message),
            "blocks": [section(f"*{mrkdwn(cut(summary(action), 300), 600)}*"),
                       section(f"Rule *{mrkdwn(action.rule or '-', 80)}* asks you to type {wanted.what} before "
                               "approving, so a yes is never a reflex."),
                       {"type": "input", "block_id": TYPED_BLOCK,
                        "label": plain(f"Type {wanted.expected} to approve", 150),
                        "element": {"type": "plain_text_input", "action_id": VALUE, "max_length": 200}}]}


def full_value_modal(name: str, value: Any) -> dict[str, Any]:
    text = show_value(value)
    # Escaping may grow a character to five ("&amp;"): chunks this size always fit a section whole.
    chunk = (SECTION_TEXT - 10) // 5
    pieces = [text[i: i + chunk] for i in range(0, len(text), chunk)] or [""]
    blocks: list[Block] = [quote(piece) for piece in pieces[:MAX_MODAL_BLOCKS - 1]]
    if len(pieces) > MAX_MODAL_BLOCKS - 1:
        blocks.append(context("The rest is too long for Slack: see `signoff show`."))
    return {"type": "modal", "callback_id": FULL_CALLBACK, "title": plain(humanize(name), MODAL_TITLE),
            "close": plain("Close", MODAL_TITLE), "blocks": blocks}
