"""The "Approve and allow similar" modal: which parameters a similar action must share, and why."""

from __future__ import annotations

import json
from typing import Any

from bot.views.approval import summary
from bot.views.blocks import Block, context, plain, plain_text, section
from bot.views.text import count, mrkdwn
from policies.allowances import Requirement, offered
from signoff.models import Action

ALLOW_CALLBACK = "signoff_allow_modal"
MATCH_BLOCK, REASON_BLOCK = "must_match", "allow_reason"
VALUE = "value"
MAX_OPTIONS = 10  # Slack's limit for checkboxes


def requirement_options(action: Action) -> list[tuple[str, Requirement]]:
    """(option value, requirement) for what the reviewer may tick: at most Slack's ten."""
    return [(str(index), r) for index, r in enumerate(offered(action.params)[:MAX_OPTIONS])]


def allow_modal(action: Action, days: int, message: dict[str, str]) -> dict[str, Any]:
    choices = requirement_options(action)
    options = [{"text": plain_text(r.describe()), "value": value} for value, r in choices]
    meant = [option for option, (_, r) in zip(options, choices, strict=True) if r.meant]
    blocks: list[Block] = [
        section(f"Approves *{mrkdwn(summary(action), 300)}* and, for {count(days, 'day')}, lets "
                f"*{mrkdwn(action.agent, 80)}*'s similar `{mrkdwn(action.type, 80)}` requests run without asking, "
                f"where rule *{mrkdwn(action.rule or '-', 80)}* would hold them."),
    ]
    if options:
        blocks.append({"type": "input", "block_id": MATCH_BLOCK, "label": plain("A similar request must have"),
                       "element": {"type": "checkboxes", "action_id": VALUE, "options": options,
                                   **({"initial_options": meant} if meant else {})}})
    else:
        blocks.append(section("No parameter of this request can be matched: *any* such request from this agent "
                              "would run."))
    blocks += [
        {"type": "input", "block_id": REASON_BLOCK, "optional": True, "label": plain("Why (kept with it)"),
         "element": {"type": "plain_text_input", "action_id": VALUE, "max_length": 500}},
        context("Anything unusual still waits for a person. Revoke it any time from the Home tab or with "
                "`signoff allow revoke ID`."),
    ]
    return {"type": "modal", "callback_id": ALLOW_CALLBACK, "title": plain("Allow similar", 24),
            "submit": plain("Approve and allow", 24), "close": plain("Cancel", 24),
            "private_metadata": json.dumps({"id": action.id, "version": action.version, "days": days, **message}),
            "blocks": blocks}


def ticked(action: Action, view: dict[str, Any]) -> list[Requirement]:
    values = view["state"]["values"]
    chosen = {o["value"] for o in (values.get(MATCH_BLOCK, {}).get(VALUE, {}).get("selected_options") or [])}
    return [r for value, r in requirement_options(action) if value in chosen]


def reason(view: dict[str, Any]) -> str:
    return str(view["state"]["values"].get(REASON_BLOCK, {}).get(VALUE, {}).get("value") or "").strip()
