"""Pydantic AI: tools with `requires_approval=True` (or a toolset's `approval_required`) wait for Slack.

    gate = SignoffAgent(agent, name="refunds", categories={"refund": "financial"})
    run = await gate.run("Refund order 1042")   # finished, or paused for people

The agent's output types must include `DeferredToolRequests` (as Pydantic AI asks of any agent with
approval tools). The paused run's message history is stored with its actions; a Signoff worker resumes
it with `DeferredToolResults`: `ToolApproved(override_args=...)` for an approval or an edit (the model
is told of the edit), `ToolDenied(note)` for a rejection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from pydantic_ai import Agent, DeferredToolRequests, DeferredToolResults, ToolApproved, ToolDenied
from pydantic_ai.messages import ModelMessagesTypeAdapter, ToolReturnPart

from signoff import runs
from signoff.runtime import Runtime


def _schemas(agent: Agent[Any, Any]) -> dict[str, dict[str, Any]]:
    """Each function tool's own JSON Schema, which the Slack edit form and Signoff's checks follow."""
    schemas: dict[str, dict[str, Any]] = {}
    for toolset in agent.toolsets:
        for name, tool in (getattr(toolset, "tools", None) or {}).items():
            tool_def = getattr(tool, "tool_def", None)
            if tool_def is not None:
                schemas[name] = tool_def.parameters_json_schema
    return schemas


class SignoffAgent:
    """Runs a Pydantic AI agent whose approval-needing tools go to Signoff. Create it at import time of a
    module in `SIGNOFF_ACTIONS`, so workers know the agent by `name` and can resume its runs."""

    def __init__(self, agent: Agent[Any, Any], *, name: str, runtime: Runtime | None = None,
                 categories: Mapping[str, str] | None = None, types: Mapping[str, str] | None = None,
                 reason: Callable[[runs.ToolCall], str] | None = None) -> None:
        self.agent = agent
        self._runtime = runtime
        self.gate = runs.register(runs.Gate(name=name, resume=self._resume, agent=name, reason=reason,
                                            types=dict(types or {}), categories=dict(categories or {}),
                                            schemas=_schemas(agent)))

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = Runtime()
        return self._runtime

    async def run(self, prompt: str, *, settle: float = runs.SETTLE, **kwargs: Any) -> runs.Run:
        """Runs until the end, or until its tool calls are asked (the run is then stored); waits up to
        `settle` seconds for the worker to let them through, returning the run as it then stands."""
        result = await self.agent.run(prompt, **kwargs)
        run = await runs.drive(self.runtime, self.gate, self._step(result))
        if run.status != "paused":
            return run
        return await asyncio.to_thread(runs.settle, self.runtime, run, settle)

    def wait(self, run_id: str, timeout: float) -> runs.Run:
        return runs.wait(self.runtime, run_id, timeout)

    @staticmethod
    def _step(result: Any, resumed: Mapping[str, Any] | None = None) -> runs.Step:
        # What each approved tool returned, from the run's new messages: its outcome in Signoff's records.
        outputs = {part.tool_call_id: part.content for message in result.new_messages()
                   for part in getattr(message, "parts", []) if isinstance(part, ToolReturnPart)
                   and part.tool_call_id in (resumed or {})}
        if not isinstance(result.output, DeferredToolRequests):
            return runs.Finished(result.output, outputs=outputs)
        calls = [runs.ToolCall(call_id=part.tool_call_id, name=part.tool_name, args=part.args_as_dict())
                 for part in result.output.approvals]
        return runs.Paused(state=result.all_messages_json().decode(), calls=calls, outputs=outputs)

    async def _resume(self, state: str, verdicts: dict[str, runs.Verdict]) -> runs.Step:
        history = ModelMessagesTypeAdapter.validate_json(state)
        approvals: dict[str, bool | ToolApproved | ToolDenied] = {
            call_id: ToolDenied(v.message or "rejected") if v.decision == "reject"
            else ToolApproved(override_args=v.args)  # what people approved, not what the stored history says
            for call_id, v in verdicts.items()}
        edits = [v.message for v in verdicts.values() if v.decision == "edit" and v.message]
        # Pydantic AI runs the edited call as if asked so: the model hears of the edit in a user message.
        note = "Signoff: " + " ".join(edits) if edits else None
        result = await self.agent.run(note, message_history=history,
                                      deferred_tool_results=DeferredToolResults(approvals=approvals))
        return self._step(result, verdicts)


