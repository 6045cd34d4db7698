"""`signoff hook claude-code`: Claude Code's PreToolUse hook, answered by Signoff's policy and people.

Reads the hook's JSON on stdin, asks for the tool call as an action (type = the tool's name, params
= its input), waits for the worker's verdict (the policy, or a person), and prints Claude Code's
answer: `allow` when a person approved it (their yes replaces Claude Code's own prompt); no decision
when the policy let it run (Claude Code's own permission rules and prompt then apply, as without
Signoff); `deny` otherwise. It lets a call through only on the worker's permit, checked with the
verify key and consumed once; a PostToolUse call records how the tool ended. Anything that goes
wrong (bad input, Signoff unreachable, no decision in time, any exception at all) is a `deny` that
says why, printed as JSON with exit 0: a coding agent is never let through by default.
"""

from __future__ import annotations

import json
from typing import Any

from signoff import door
from signoff.errors import InvalidParams, SignoffError, TransitionRefused
from signoff.models import Status
from signoff.remote import ApiError
from signoff.sdk import Signoff

CATEGORY = "coding_tool"
AGENT = "claude-code"
DEFAULT_TIMEOUT = 55.0  # under Claude Code's 60-second default hook timeout
RAN_TTL = 24 * 3600  # seconds a permitted call waits for its PostToolUse
RESULT_CHARS = 2000  # of the tool's response kept as the action's result


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
    """The answer to one hook call; never raises: whatever goes wrong is a `deny` that says why."""
    try:
        return _answer_event(raw, signoff, timeout)
    except BaseException as failed:
        if isinstance(failed, KeyboardInterrupt | SystemExit):
            return answer("deny", "Signoff's hook was stopped before it had an answer; denied.")
        return answer("deny", f"Signoff's hook failed ({type(failed).__name__}: {str(failed)[:200]}); denied.")


def _read(raw: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    event = json.loads(raw)
    tool, tool_input = event["tool_name"], event["tool_input"]
    if not isinstance(tool, str) or not isinstance(tool_input, dict):
        raise TypeError("tool_name must be a string and tool_input an object")
    return tool, tool_input, event


def _call_key(tool_use_id: str) -> str:
    return f"signoff:hook-call:{tool_use_id}"


def _answer_event(raw: str, signoff: Signoff, timeout: float) -> dict[str, Any]:
    try:
        tool, tool_input, event = _read(raw)
    except (ValueError, KeyError, TypeError, RecursionError) as bad:
        return answer("deny", f"Signoff could not read this hook call ({type(bad).__name__}: {str(bad)[:200]}); "
                              "denied.")
    if event.get("hook_event_name") == "PostToolUse":
        return _ran(signoff, event)
    session = str(event.get("session_id") or "?")[:8]
    where = f"Claude Code, session {session}, in {event.get('cwd') or '?'}"
    said = tool_input.get("description")  # Claude's own words for a Bash call, where it gave them
    asked = said if isinstance(said, str) and said.strip() else f"Claude Code wants to run {tool}"
    reason = f"{asked} ({where})"
    try:
        signoff.declare_schema(tool, _schema_of(tool_input), category=CATEGORY, agent=AGENT)
        ticket = signoff.submit(tool, tool_input, agent=AGENT, reason=reason)
        outcome = ticket.wait(timeout=timeout)
    except InvalidParams as invalid:
        return answer("deny", f"Signoff refused the tool input: {invalid}")
    except ApiError as refused:
        if refused.status == 403:  # reached, and told no: the token, not the network
            return answer("deny", "Signoff's agent token for this hook may not declare tool types, which the hook "
                                  "needs: create one with `signoff agents token create claude-code --declare`; "
                                  "denied until then.")
        return answer("deny", f"Signoff's API refused the call ({refused}); denied.")
    except (SignoffError, OSError) as down:
        return answer("deny", f"Signoff could not be reached ({down}); denied until it answers.")
    by = outcome.decided_by or "the policy"
    if outcome.status == Status.APPROVED:
        return _allowed(signoff, ticket.id, tool, tool_input, event, by, outcome.note)
    if outcome.status == Status.REJECTED:
        return answer("deny", f"rejected by {by}: {outcome.note or 'no reason given'}")
    if outcome.status == Status.EXPIRED:
        return answer("deny", "nobody decided before the deadline; ask again if it is still needed")
    if outcome.status in (Status.RECEIVED, Status.PENDING_APPROVAL):
        return answer("deny", f"no decision within {timeout:g} s; it waits in Slack as action {outcome.id}. "
                              "Try again once someone has approved it.")
    return answer("deny", f"the action is {outcome.status}: {outcome.note or outcome.error or 'not approved'}")


def _allowed(signoff: Signoff, action_id: str, tool: str, tool_input: dict[str, Any], event: dict[str, Any],
             by: str, note: str | None) -> dict[str, Any]:
    """Allowed only on the worker's permit, consumed here once: a status written into Redis is not a yes."""
    rt = signoff.runtime
    try:
        started = door.enter_elsewhere(rt, rt.store.get(action_id), f"hook:{AGENT}", call_type=tool,
                                       call_agent=AGENT)
    except TransitionRefused:  # ApprovalUsed among them: another call started it
        return answer("deny", f"action {action_id}'s approval was used already; it runs once. Ask again.")
    except (door.NotPermitted, SignoffError) as refused:
        return answer("deny", f"Signoff did not permit this call: {refused}")
    if event.get("tool_use_id"):  # its PostToolUse records how it ended
        rt.connection.set(_call_key(str(event["tool_use_id"])), started.id, ex=RAN_TTL)
    edited = started.params if started.params != tool_input else None
    by = started.decided_by or by  # as the permit that was just verified binds it
    if by.startswith("policy:") and edited is None and not started.outright:
        # The policy let it run: no decision, so Claude Code's own permission rules and prompt apply, as
        # they would without Signoff. Only a person's yes stands in for Claude Code's prompt.
        return {}
    outright = started.outright and by.startswith("policy:")
    what = "approved with edits" if edited is not None else "allowed outright" if outright else "approved"
    return answer("allow", f"{what} by {by}" + (f": {note}" if note else ""), edited)


def _ran(signoff: Signoff, event: dict[str, Any]) -> dict[str, Any]:
    """PostToolUse: the tool ran; its outcome goes on the action, through the door."""
    rt = signoff.runtime
    action_id = rt.connection.get(_call_key(str(event.get("tool_use_id") or "")))
    if action_id is not None:
        action = rt.store.get(action_id.decode() if isinstance(action_id, bytes) else str(action_id))
        if action.status == Status.RUNNING:
            response = event.get("tool_response")
            error = None
            if isinstance(response, dict) and (response.get("is_error") or response.get("error")):
                error = str(response.get("error") or "the tool reported an error")
            shown = json.dumps(response, default=str)[:RESULT_CHARS] if response is not None else None
            door.leave(rt, action, result=shown, error=error, by=f"hook:{AGENT}")
    return {}
