"""OpenAI Agents SDK: tools marked `needs_approval` wait for a decision in Slack.

    runner = SignoffRunner(agent, name="mailer", categories={"send_email": "external_communication"})
    run = await runner.run("Tell Sarah the invoice is late")   # finished, or paused for people

The paused run is stored with its actions; a Signoff worker resumes it with `RunState` once people have
decided, hours later if need be. The SDK has no edit: the approved call runs, and the tool is handed
the edited arguments (found by its call id) with a note for the model saying what changed.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Any

from agents import Agent, FunctionTool, Runner, RunState
from agents.tool_context import ToolContext

from signoff import runs
from signoff.runtime import Runtime

# The approved calls of the run being resumed in this task, by tool call id: read by the wrapped tools,
# which write what each returned beside them (its outcome in Signoff's records).
_edits: contextvars.ContextVar[Mapping[str, runs.Verdict] | None] = contextvars.ContextVar("signoff_edits",
                                                                                          default=None)
_outputs: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("signoff_outputs", default=None)


def _with_edits(tool: FunctionTool) -> FunctionTool:
    invoke = tool.on_invoke_tool

    async def on_invoke_tool(ctx: ToolContext[Any], input_json: str) -> Any:
        verdict = (_edits.get() or {}).get(ctx.tool_call_id)
        if verdict is None:
            return await invoke(ctx, input_json)
        # Always the arguments people approved (and Signoff signed), not whatever the stored state says.
        output = await invoke(ctx, json.dumps(verdict.args))
        outputs = _outputs.get()
        if outputs is not None:
            outputs[ctx.tool_call_id] = output
        if verdict.decision == "edit":
            return f"{verdict.message}\n{output}"  # the model learns what it called is not what ran
        return output

    return dataclasses.replace(tool, on_invoke_tool=on_invoke_tool)


def _gated(agent: Agent[Any]) -> list[FunctionTool]:
    return [t for t in agent.tools if isinstance(t, FunctionTool) and t.needs_approval]


class SignoffRunner:
    """Runs an agent whose approval-needing tools go to Signoff. Create it at import time of a module in
    `SIGNOFF_ACTIONS`, so workers know the agent by `name` and can resume its runs."""

    def __init__(self, agent: Agent[Any], *, name: str, runtime: Runtime | None = None,
                 categories: Mapping[str, str] | None = None, types: Mapping[str, str] | None = None,
                 reason: Callable[[runs.ToolCall], str] | None = None) -> None:
        gated = _gated(agent)
        self.agent = agent.clone(tools=[_with_edits(t) if t in gated else t for t in agent.tools])
        self._runtime = runtime
        self.gate = runs.register(runs.Gate(
            name=name, resume=self._resume, agent=name, reason=reason, types=dict(types or {}),
            categories=dict(categories or {}), schemas={t.name: t.params_json_schema for t in gated}))

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = Runtime()
        return self._runtime

    async def run(self, input: str | list[Any], *, settle: float = runs.SETTLE, **kwargs: Any) -> runs.Run:
        """Runs until the end, or until its tool calls are asked (the run is then stored); waits up to
        `settle` seconds for the worker to let them through, returning the run as it then stands."""
        result = await Runner.run(self.agent, input, **kwargs)
        run = await runs.drive(self.runtime, self.gate, self._step(result))
        if run.status != "paused":
            return run
        return await asyncio.to_thread(runs.settle, self.runtime, run, settle)

    def wait(self, run_id: str, timeout: float) -> runs.Run:
        return runs.wait(self.runtime, run_id, timeout)

    def _step(self, result: Any, outputs: dict[str, Any] | None = None) -> runs.Step:
        if not result.interruptions:
            return runs.Finished(result.final_output, outputs=outputs or {})
        calls = [runs.ToolCall(call_id=str(item.call_id), name=str(item.tool_name),
                               args=json.loads(item.arguments or "{}"), description="")
                 for item in result.interruptions]
        return runs.Paused(state=result.to_state().to_string(), calls=calls, outputs=outputs or {})

    async def _resume(self, state: str, verdicts: dict[str, runs.Verdict]) -> runs.Step:
        run_state = await RunState.from_string(self.agent, state)
        for item in run_state.get_interruptions():
            verdict = verdicts.get(str(item.call_id))
            if verdict is None or verdict.decision == "reject":
                message = verdict.message if verdict else "Signoff has no decision for this call; it did not run."
                run_state.reject(item, rejection_message=message)
            else:
                run_state.approve(item)
        token = _edits.set({c: v for c, v in verdicts.items() if v.decision != "reject"})
        outputs: dict[str, Any] = {}
        collecting = _outputs.set(outputs)
        try:
            result = await Runner.run(self.agent, run_state)
        finally:
            _edits.reset(token)
            _outputs.reset(collecting)
        return self._step(result, outputs)
