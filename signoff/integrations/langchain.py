"""LangChain / LangGraph: `HumanInTheLoopMiddleware` interrupts decided in Slack.

    gate = SignoffGraph(agent, name="records", categories={"delete_record": "irreversible"})
    run = gate.run({"messages": [{"role": "user", "content": "Delete the stale records"}]})

`agent` is what `create_agent(..., middleware=[HumanInTheLoopMiddleware(...)])` returns, in
"batched" (one interrupt per model turn, each call decided on its own) or "per_call" mode. Signoff
gives the graph its own checkpointer for each run and keeps the paused checkpoint (serialized by
LangGraph's own serializer) with the run in Redis, so a Signoff worker resumes it with
`Command(resume=...)` in another process: no checkpoint store beyond Redis is needed.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Mapping
from typing import Any

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from signoff import runs
from signoff.runtime import Runtime

_NS: dict[str, str] = {"checkpoint_ns": ""}


def _typed(saver: InMemorySaver, value: Any) -> list[str]:
    kind, data = saver.serde.dumps_typed(value)
    return [kind, base64.b64encode(data).decode()]


def _untyped(saver: InMemorySaver, typed: list[str]) -> Any:
    return saver.serde.loads_typed((typed[0], base64.b64decode(typed[1])))


def export_checkpoint(saver: InMemorySaver, config: RunnableConfig) -> dict[str, Any]:
    """The thread's latest checkpoint and its pending writes (the interrupt among them), as JSON."""
    latest = saver.get_tuple(config)
    if latest is None:
        raise RuntimeError("the graph paused without a checkpoint")
    return {"checkpoint": _typed(saver, latest.checkpoint), "metadata": _typed(saver, latest.metadata),
            "writes": [[task, channel, _typed(saver, value)] for task, channel, value in latest.pending_writes or []]}


def import_checkpoint(saved: dict[str, Any], thread: str) -> InMemorySaver:
    saver = InMemorySaver()
    checkpoint = _untyped(saver, saved["checkpoint"])
    stored = saver.put({"configurable": {"thread_id": thread, **_NS}}, checkpoint,
                       _untyped(saver, saved["metadata"]), checkpoint["channel_versions"])
    by_task: dict[str, list[tuple[str, Any]]] = {}
    for task, channel, value in saved["writes"]:
        by_task.setdefault(task, []).append((channel, _untyped(saver, value)))
    for task, writes in by_task.items():
        saver.put_writes(stored, writes, task)
    return saver


def _decision(verdict: runs.Verdict, name: str, paused_with: dict[str, Any] | None) -> dict[str, Any]:
    # LangChain runs an "approve" with the arguments its checkpoint holds; the checkpoint is stored in
    # Redis, so where they are not the ones people approved (and Signoff signed), the approved ones are
    # handed over as an edit: what runs is what was approved.
    if verdict.decision == "approve" and paused_with == verdict.args:
        return {"type": "approve"}
    if verdict.decision == "approve":
        return {"type": "edit", "edited_action": {"name": name, "args": verdict.args}}
    if verdict.decision == "edit":  # LangChain itself tells the model the reviewer replaced the call
        return {"type": "edit", "edited_action": {"name": name, "args": verdict.args}}
    return {"type": "reject", "message": verdict.message or "rejected"}


def _calls(interrupts: Any) -> list[runs.ToolCall]:
    calls: list[runs.ToolCall] = []
    for interrupt in interrupts:
        value = interrupt.value
        if value.get("type") == "tool_approval":  # per_call: one interrupt, one call
            calls.append(runs.ToolCall(call_id=f"{interrupt.id}", name=value["name"], args=value["args"],
                                       description=value.get("description", "")))
        else:  # batched: decisions go back by position
            calls += [runs.ToolCall(call_id=f"{interrupt.id}:{i}", name=r["name"], args=r["args"],
                                    description="") for i, r in enumerate(value["action_requests"])]
    return calls


def _paused_calls(saver: InMemorySaver, thread: str) -> dict[str, runs.ToolCall]:
    """The calls the checkpoint itself will run on resume, by call id."""
    latest = saver.get_tuple({"configurable": {"thread_id": thread, **_NS}})
    interrupts = [i for _, channel, value in (latest.pending_writes or []) if channel == "__interrupt__"
                  for i in value] if latest else []
    return {call.call_id: call for call in _calls(interrupts)}


_EDIT_NOTE, _RESPONSE = "Note: a human reviewer", "\n\nTool response:\n"


def _tool_output(content: Any) -> Any:
    """The tool's own output: after an edit, LangChain puts a note for the model in front of it."""
    if isinstance(content, str) and content.startswith(_EDIT_NOTE) and _RESPONSE in content:
        return content.split(_RESPONSE, 1)[1]
    return content


def _outputs(messages: list[Any], asked: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """What each call let through returned, by Signoff's call id: the ToolMessage answering the model's
    tool call with the same name and arguments (LangChain's interrupts carry no tool-call id)."""
    answers = {m.tool_call_id: _tool_output(m.content) for m in messages if getattr(m, "type", "") == "tool"}
    made = [call for m in messages if getattr(m, "type", "") == "ai" for call in getattr(m, "tool_calls", [])]
    outputs: dict[str, Any] = {}
    used: set[str] = set()
    for call_id, (name, args) in asked.items():
        for exact in (True, False):  # the same arguments first; else the first unanswered call of that tool
            match = next((c for c in made if c["name"] == name and c.get("id") not in used
                          and c.get("id") in answers and (not exact or c.get("args") == args)), None)
            if match is not None:
                used.add(match["id"])
                outputs[call_id] = answers[match["id"]]
                break
    return outputs


class SignoffGraph:
    """Runs a LangChain agent (or LangGraph graph with the HITL middleware) whose interrupts go to
    Signoff. Create it at import time of a module in `SIGNOFF_ACTIONS`, so workers can resume its runs."""

    def __init__(self, graph: Any, *, name: str, tools: list[BaseTool] | None = None,
                 runtime: Runtime | None = None, categories: Mapping[str, str] | None = None,
                 types: Mapping[str, str] | None = None,
                 reason: Callable[[runs.ToolCall], str] | None = None) -> None:
        self.graph = graph
        self._runtime = runtime
        schemas = {t.name: convert_to_openai_tool(t)["function"]["parameters"] for t in tools or self._tools(graph)}
        self.gate = runs.register(runs.Gate(name=name, resume=self._resume, agent=name, reason=reason,
                                            types=dict(types or {}), categories=dict(categories or {}),
                                            schemas=schemas))

    @staticmethod
    def _tools(graph: Any) -> list[BaseTool]:
        node = getattr(graph, "nodes", {}).get("tools")
        tool_node = getattr(node, "bound", None)
        return list(getattr(tool_node, "tools_by_name", {}).values())

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = Runtime()
        return self._runtime

    def run(self, input: Any, *, thread: str | None = None, settle: float = runs.SETTLE) -> runs.Run:
        """Runs until the end, or until an interrupt's calls are asked (the run is then stored); waits up
        to `settle` seconds for the worker to let them through, returning the run as it then stands."""
        thread = thread or runs.Run(gate=self.gate.name).id
        saver = InMemorySaver()
        step = self._invoke(saver, input, thread)
        run = asyncio.run(runs.drive(self.runtime, self.gate, step))
        return runs.settle(self.runtime, run, settle) if run.status == "paused" else run

    def wait(self, run_id: str, timeout: float) -> runs.Run:
        return runs.wait(self.runtime, run_id, timeout)

    def _invoke(self, saver: InMemorySaver, input: Any, thread: str,
                asked: dict[str, tuple[str, dict[str, Any]]] | None = None) -> runs.Step:
        config: RunnableConfig = {"configurable": {"thread_id": thread}}
        graph = self.graph.copy(update={"checkpointer": saver})
        out = graph.invoke(input, config, version="v2")
        messages = (out.value or {}).get("messages") or []
        outputs = _outputs(messages, asked or {})
        if not out.interrupts:
            return runs.Finished(messages[-1].content if messages else out.value, outputs=outputs)
        calls = _calls(out.interrupts)
        state = {"thread": thread, "saved": export_checkpoint(saver, config),
                 "names": {call.call_id: call.name for call in calls}}
        return runs.Paused(state=json.dumps(state), calls=calls, outputs=outputs)

    async def _resume(self, state: str, verdicts: dict[str, runs.Verdict]) -> runs.Step:
        paused = json.loads(state)
        saver = import_checkpoint(paused["saved"], paused["thread"])
        names: dict[str, str] = paused["names"]
        in_checkpoint = _paused_calls(saver, paused["thread"])
        resume: dict[str, Any] = {}
        asked: dict[str, tuple[str, dict[str, Any]]] = {}
        for call_id, verdict in verdicts.items():
            interrupt_id, _, position = call_id.partition(":")
            held = in_checkpoint.get(call_id)
            name = held.name if held else names.get(call_id, "")
            decision = _decision(verdict, name, held.args if held else None)
            if verdict.decision != "reject":
                asked[call_id] = (name, verdict.args)
            if position:
                resume.setdefault(interrupt_id, {"decisions": []})["decisions"].append((int(position), decision))
            else:
                resume[interrupt_id] = decision
        for value in resume.values():
            if isinstance(value, dict) and "decisions" in value and isinstance(value["decisions"], list):
                value["decisions"] = [d for _, d in sorted(value["decisions"], key=lambda pair: pair[0])]
        # A graph run is synchronous; a worker thread keeps the job's event loop free.
        return await asyncio.to_thread(self._invoke, saver, Command(resume=resume), paused["thread"], asked)

