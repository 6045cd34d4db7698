"""`signoff hook claude-code`: Claude Code's PreToolUse hook, answered by Signoff's policy and people.

Reads the hook's JSON on stdin, asks for the tool call as an action (type = the tool's name, params
= its input), waits for the policy or a person, and prints Claude Code's answer. Anything that goes
wrong (bad input, Signoff unreachable, no decision in time) is a `deny` that says why: a coding
agent is never let through by default.
"""

from __future__ import annotations

import json
from typing import Any

from signoff.errors import InvalidParams, SignoffError
from signoff.models import Status
from signoff.sdk import Signoff

CATEGORY = "coding_tool"
DEFAULT_TIMEOUT = 55.0  # under Claude Code's 60-second default hook timeout


def answer(decision: str, reason: str, updated: dict[str, Any] | None = None) -> dict[str, Any]:
    output: dict[str, Any] = {"hookEventName": "PreToolUse", "permissionDecision": decision,
                              "permissionDecisionReason": reason}
    if updated is not None:
        output["updatedInput"] = updated
    return {"hookSpecificOutput": output}


def _schema_of(tool_input: dict[str, Any]) -> dict[str, Any]:
    """A schema from the call itself: each field keeps its JSON type, so an edit in Slack keeps it too."""
    kinds = {str: "string", bool: "boolean", int: "integer", float: "number", list: "array", dict: "object"}
    return {"type": "object", "additionalProperties": True,
            "properties": {k: {"type": kinds[type(v)]} if type(v) in kinds else {} for k, v in tool_input.items()}}


def claude_code(raw: str, signoff: Signoff, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    try:
        event = json.loads(raw)
        tool, tool_input = event["tool_name"], event["tool_input"]
        if not isinstance(tool, str) or not isinstance(tool_input, dict):
            raise TypeError("tool_name must be a string and tool_input an object")
    except (ValueError, KeyError, TypeError) as bad:
        return answer("deny", f"Signoff could not read this hook call ({bad}); denied.")
    session = str(event.get("session_id") or "?")[:8]
    reason = f"Claude Code wants to run {tool} (session {session}, in {event.get('cwd') or '?'})"
    try:
        signoff.declare_schema(tool, _schema_of(tool_input), category=CATEGORY)
        ticket = signoff.submit(tool, tool_input, agent="claude-code", reason=reason)
        outcome = ticket.wait(timeout=timeout)
    except InvalidParams as invalid:
        return answer("deny", f"Signoff refused the tool input: {invalid}")
    except (SignoffError, OSError) as down:
        return answer("deny", f"Signoff could not be reached ({down}); denied until it answers.")
    except Exception as down:
        return answer("deny", f"Signoff failed ({type(down).__name__}: {down}); denied.")
    by = outcome.decided_by or "the policy"
    if outcome.status in (Status.APPROVED, Status.SUCCEEDED, Status.RUNNING):
        edited = outcome.params if outcome.params != tool_input else None
        what = "approved with edits" if edited is not None else "approved"
        return answer("allow", f"{what} by {by}" + (f": {outcome.note}" if outcome.note else ""), edited)
    if outcome.status == Status.REJECTED:
        return answer("deny", f"rejected by {by}: {outcome.note or 'no reason given'}")
    if outcome.status == Status.EXPIRED:
        return answer("deny", "nobody decided before the deadline; ask again if it is still needed")
    if outcome.status in (Status.RECEIVED, Status.PENDING_APPROVAL):
        return answer("deny", f"no decision within {timeout:g} s; it waits in Slack as action {outcome.id}. "
                              "Try again once someone has approved it.")
    return answer("deny", f"the action is {outcome.status}: {outcome.note or outcome.error or 'not approved'}")
