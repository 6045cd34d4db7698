"""How the CLI shows actions and events to a person on a terminal."""

from __future__ import annotations

import json
from typing import Any

from policies.engine import RuleCheck
from signoff.models import Action, Outcome


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"


def slack_state(action: Action) -> str:
    """Whether a waiting action's request has reached Slack: an outage must not hide it."""
    if action.status != "pending_approval" or action.slack.get("ts") or action.batch_id:
        return ""
    attempts = int(action.slack.get("attempts", "0"))
    return "  not yet in Slack" + (f" ({attempts} tries)" if attempts else "")


#: How much of one value `signoff show` prints unless asked for all of it (`--full`).
SHOWN_CHARS = 2000


def _column(text: str, width: int) -> str:
    """Exactly `width` characters: a longer name is cut, so the columns stay columns."""
    return text[: width - 1] + "…" if len(text) > width else text.ljust(width)


def _value(text: str, full: bool) -> str:
    if full or len(text) <= SHOWN_CHARS:
        return text
    return f"{text[:SHOWN_CHARS]}… ({len(text) - SHOWN_CHARS:,} more characters: --full shows all)"


def list_header() -> str:
    """The column names above `action_line`s, in the same widths."""
    return (f"{'ID':<16}  {'STATUS':<16} {_column('TYPE', 18)} {_column('AGENT', 14)} "
            f"{'CREATED':<23}  RULE")


def action_line(action: Action) -> str:
    return (f"{action.id}  {action.status:<16} {_column(action.type, 18)} {_column(action.agent, 14)} "
            f"{_when(action.created_at)}  {_column(action.rule or '', 24).rstrip()}{slack_state(action)}")


def action_detail(action: Action, full: bool = False) -> str:
    lines = [
        f"{action.type} ({action.id})",
        f"  status:     {action.status}" + (f" (review: {action.review})" if action.review != "none" else ""),
        f"  agent:      {_value(action.agent, full)}",
        f"  reason:     {_value(action.reason, full)}",
        f"  rule:       {action.rule or '-'} ({action.mode or 'not routed yet'})",
    ]
    if action.risk:
        lines.append("  risk:       " + "; ".join(action.risk))
    waiting = action.waiting
    if waiting is not None:
        lines.append(f"  deadline:   {_when(waiting.deadline_at)} (then: {waiting.on_expiry})")
        if waiting.chain:
            lines.append(f"  escalation: level {waiting.level + 1} of {len(waiting.chain)}")
        if waiting.quorum > 1 or action.votes:
            voters = ", ".join(v["by"] for v in action.votes) or "none yet"
            lines.append(f"  approvals:  {voters} ({len(action.votes)} of {waiting.quorum} needed)")
    lines.append(f"  version:    {action.version}")
    lines.append("  params:")
    lines += [f"    {k}: {_value(json.dumps(v), full)}" for k, v in action.params.items()]
    if action.original_params is not None:
        lines.append("  edited from:")
        lines += [f"    {k}: {_value(json.dumps(v), full)}" for k, v in action.original_params.items()]
    if action.decided_by:
        stood_in = f" for {action.decided_for} (away)" if action.decided_for else ""
        lines.append(f"  decided by: {action.decided_by}{stood_in} at {_when(action.decided_at)}")
    if action.note:
        lines.append(f"  note:       {_value(action.note, full)}")
    if action.result is not None:
        lines.append(f"  result:     {_value(json.dumps(action.result), full)}")
    if action.error:
        lines.append(f"  error:      {_value(action.error, full)}")
    return "\n".join(lines)


def outcome_text(outcome: Outcome) -> str:
    text = f"{outcome.id}: {outcome.status}"
    if outcome.decided_by:
        text += f" (decided by {outcome.decided_by}" + (f" for {outcome.decided_for} (away)"
                                                         if outcome.decided_for else "") + ")"
    if outcome.note:
        text += f" - {outcome.note}"
    if outcome.error:
        text += f"\n  error: {outcome.error}"
    if outcome.result is not None:
        text += f"\n  result: {json.dumps(outcome.result)}"
    return text


def explanation(checks: list[RuleCheck]) -> str:
    lines = []
    applied = False
    for check in checks:
        marker = "  "
        if check.matched and not applied:
            marker, applied = "=>", True
        state = "matches" if check.matched else "no match"
        lines.append(f"{marker} {check.rule.name} ({check.rule.mode}): {state}: {'; '.join(check.why)}")
    if not applied:
        lines.append("=> no rule matches: the action runs")
    return "\n".join(lines)
