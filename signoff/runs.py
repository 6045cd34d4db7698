"""Paused agent runs: a framework's run stopped at tool calls that wait for people, resumed by a worker.

A framework adapter (see `signoff.integrations`) turns each paused tool call into an action with the
run's id, and stores the framework's own serialized state with the run. When the last of those
actions is settled (approved, edited, rejected, expired), a worker job resumes the run with the
framework's own mechanism, in whatever process picks the job up: nothing has to stay alive waiting.
Where the run pauses again, it waits again; where it ends, its output is kept for whoever waits.

The function that resumes a run is looked up by name among those this process's own code registered
(`register`), as action functions are: nothing read from Redis chooses what code runs.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import redis
from pydantic import BaseModel, Field

from policies.routing import runs_now
from signoff import lifecycle
from signoff.catalog import ActionType
from signoff.errors import InvalidParams, SignoffError
from signoff.logging import log
from signoff.models import Action, Status, new_action_id
from signoff.resumption import ASKED
from signoff.runtime import Runtime

RUN_TTL = 90 * 24 * 3600  # seconds a run's record is kept after it last changed


@dataclass(frozen=True)
class ToolCall:
    """One tool call a run paused at, as the framework gave it."""

    call_id: str
    name: str
    args: dict[str, Any]
    description: str = ""


@dataclass(frozen=True)
class Paused:
    state: str  # the framework's own serialized run state
    calls: list[ToolCall]


@dataclass(frozen=True)
class Finished:
    output: Any


Step = Paused | Finished


class Verdict(BaseModel):
    """What a person (or the policy) decided about one paused call, as the adapter hands it to the framework."""

    decision: Literal["approve", "edit", "reject"]
    args: dict[str, Any]  # the arguments the tool runs with: the edited ones after an edit
    message: str | None = None  # for the model: the reviewer's note, why it was refused or that it was edited
    by: str | None = None


#: state, verdicts by call id -> the run's next step. Registered by an adapter, run by a worker.
Resume = Callable[[str, dict[str, Verdict]], Awaitable[Step]]


@dataclass(frozen=True)
class Gate:
    """What Signoff needs to know of an adapted agent: how to resume it, and how its tools become actions."""

    name: str  # the name workers find this agent's resume function by
    resume: Resume
    agent: str  # who asks, in Slack and the audit log
    schemas: dict[str, dict[str, Any]]  # tool name -> the tool's own JSON Schema for its arguments
    types: dict[str, str] = field(default_factory=dict)  # tool name -> action type, where they differ
    categories: dict[str, str] = field(default_factory=dict)  # tool name -> category, for the policy
    reason: Callable[[ToolCall], str] | None = None

    def action_type(self, call: ToolCall) -> ActionType:
        schema = self.schemas.get(call.name) or {"type": "object", "additionalProperties": True}
        return ActionType(name=self.types.get(call.name, call.name), category=self.categories.get(call.name),
                          params_schema=schema)

    def why(self, call: ToolCall) -> str:
        if self.reason is not None:
            return self.reason(call)
        return call.description or f"{self.agent} calls the tool {call.name}"


_gates: dict[str, Gate] = {}


def register(gate: Gate) -> Gate:
    known = _gates.get(gate.name)
    if known is not None and known.resume is not gate.resume:
        log.info("gate_replaced", gate=gate.name)
    _gates[gate.name] = gate
    return gate


class Run(BaseModel):
    id: str = Field(default_factory=lambda: uuid.uuid4().hex[:16])
    gate: str
    status: Literal["paused", "resuming", "finished", "failed"] = "paused"
    round: int = 1
    state: str = ""
    calls: dict[str, str] = Field(default_factory=dict)  # call id -> action id, for the calls that wait
    args: dict[str, dict[str, Any]] = Field(default_factory=dict)  # call id -> the arguments as called
    ready: dict[str, Verdict] = Field(default_factory=dict)  # calls the policy let run without a person
    output: Any = None
    error: str | None = None


def run_key(run_id: str) -> str:
    return f"signoff:run:{run_id}"


def _done_channel(run_id: str) -> str:
    return f"signoff:run-done:{run_id}"


def load(rt: Runtime, run_id: str) -> Run:
    raw = rt.connection.get(run_key(run_id))
    if raw is None:
        raise SignoffError(f"no paused run with id {run_id!r}")
    return Run.model_validate_json(raw)


def _save(rt: Runtime, run: Run) -> None:
    rt.connection.set(run_key(run.id), run.model_dump_json(), ex=RUN_TTL)
    if run.status in ("finished", "failed"):
        rt.connection.publish(_done_channel(run.id), run.status)


async def drive(rt: Runtime, gate: Gate, step: Step, run: Run | None = None) -> Run:
    """Carries a run on from `step`: calls the policy lets run are resumed at once, here; calls that need a
    person become actions and the run is stored to wait for them. Returns the run as it stands."""
    run = run or Run(gate=gate.name)
    while isinstance(step, Paused):
        policy = rt.policy
        ready: dict[str, Verdict] = {}
        held: list[ToolCall] = []
        for call in step.calls:
            action_type = gate.action_type(call)
            try:
                params = action_type.check_params(call.args)  # the tool's own schema
            except InvalidParams as invalid:  # the model hears why, and nothing runs
                ready[call.call_id] = Verdict(decision="reject", args=call.args, by="signoff",
                                              message=f"Signoff refused these arguments: {invalid}")
                continue
            subject = lifecycle.subject(Action(type=action_type.name, category=action_type.category,
                                               agent=gate.agent, reason="", params=params,
                                               review_requested=action_type.category is None))
            if runs_now(policy, subject):
                ready[call.call_id] = Verdict(decision="approve", args=call.args, by="policy")
            else:
                held.append(call)
        for call in step.calls:  # every call is recorded; the ones that run now are routed for the log
            if call.call_id in ready and ready[call.call_id].decision == "approve":
                rt.catalog.declare(gate.action_type(call))
                lifecycle.request(rt, gate.action_type(call), call.args, agent=gate.agent, reason=gate.why(call))
        if not held:
            step = await gate.resume(step.state, ready)
            continue
        run = run.model_copy(update={"state": step.state, "ready": ready, "status": "paused",
                                     "args": {c.call_id: c.args for c in held},
                                     "calls": {c.call_id: new_action_id() for c in held}})
        _save(rt, run)  # before the actions exist: a worker routing one finds the whole run
        for call in held:
            action_type = gate.action_type(call)
            rt.catalog.declare(action_type)
            # The framework asked for a person: with no category given, that request stands, whatever the rules.
            lifecycle.request(rt, action_type, call.args, agent=gate.agent, reason=gate.why(call),
                              review=action_type.category is None, run_id=run.id, action_id=run.calls[call.call_id])
        log.info("run_paused", run_id=run.id, gate=gate.name, waiting=len(held))
        return run
    run = run.model_copy(update={"status": "finished", "output": _jsonable(step.output), "state": ""})
    _save(rt, run)
    return run


def waiting_calls(rt: Runtime, action: Action) -> int:
    """How many calls the run this action belongs to waits on (0 for an action of no run)."""
    if not action.run_id:
        return 0
    raw = rt.connection.get(run_key(action.run_id))
    return len(Run.model_validate_json(raw).calls) if raw else 0


def verdict_of(action: Action, called_with: dict[str, Any]) -> Verdict:
    by = action.decided_by
    if action.status in (Status.APPROVED, Status.RUNNING, Status.SUCCEEDED):
        if action.params != called_with:
            return Verdict(decision="edit", args=action.params, by=by,
                           message=f"A reviewer ({by}) edited the arguments before this ran: now "
                                   f"{json.dumps(action.params, sort_keys=True)}" + (f". {action.note}"
                                                                                      if action.note else ""))
        return Verdict(decision="approve", args=action.params, by=by, message=action.note)
    if action.status == Status.EXPIRED:
        message = "Nobody approved this call before its deadline, so it did not run. Ask again if it is still needed."
    elif action.status == Status.REJECTED:
        message = f"A reviewer ({by}) rejected this call: {action.note or 'no reason given'}"
    else:
        message = f"This call did not run: it was {action.status}" + (f" ({action.note})" if action.note else "")
    return Verdict(decision="reject", args=called_with, by=by, message=message)


def _verified(rt: Runtime, action: Action, called_with: dict[str, Any]) -> Verdict:
    """The verdict, where an approval carries a valid signature: one written to Redis by anyone else
    (an agent holding only Redis credentials) lets nothing run."""
    verdict = verdict_of(action, called_with)
    if verdict.decision != "reject" and not lifecycle.approval_verifies(rt, action):
        log.error("run_approval_not_signed", action_id=action.id, decided_by=action.decided_by)
        return Verdict(decision="reject", args=called_with, by="signoff",
                       message="Signoff could not verify this approval's signature, so the call did not run.")
    return verdict


def _claim(rt: Runtime, run_id: str, round_: int) -> Run | None:
    """paused -> resuming for this round, once: a second resume job for the same round finds it taken."""
    key = run_key(run_id)
    with rt.connection.pipeline() as pipe:
        try:
            pipe.watch(key)
            raw = pipe.get(key)
            run = Run.model_validate_json(raw) if raw else None
            if run is None or run.status != "paused" or run.round != round_:
                return None
            pipe.multi()
            pipe.set(key, run.model_copy(update={"status": "resuming"}).model_dump_json(), ex=RUN_TTL)
            pipe.execute()
        except redis.WatchError:
            return None
    return run


async def resume(rt: Runtime, run_id: str) -> Run | None:
    """The worker's side: once every call of the run is settled, resumes it with the decisions."""
    run = load(rt, run_id)
    if run.status != "paused":
        return None
    actions = rt.store.get_many(list(run.calls.values()))
    if any(a.status in ASKED for a in actions):
        return None  # others still wait; the last decision resumes it
    gate = _gates.get(run.gate)
    if gate is None:
        raise SignoffError(f"this worker has no agent registered as {run.gate!r}: start workers with "
                           "SIGNOFF_ACTIONS naming the module that adapts it")
    claimed = _claim(rt, run_id, run.round)
    if claimed is None:
        return None  # another job resumed it
    by_id = {a.id: a for a in actions}
    verdicts = {**claimed.ready, **{call: _verified(rt, by_id[action_id], claimed.args[call])
                                    for call, action_id in claimed.calls.items()}}
    log.info("run_resuming", run_id=run_id, gate=gate.name, decisions={c: v.decision for c, v in verdicts.items()})
    try:
        step = await gate.resume(claimed.state, verdicts)
        return await drive(rt, gate, step, claimed.model_copy(update={"round": claimed.round + 1}))
    except Exception as failed:
        _save(rt, claimed.model_copy(update={"status": "failed", "error": f"{type(failed).__name__}: {failed}"}))
        raise


def wait(rt: Runtime, run_id: str, timeout: float) -> Run:
    """Blocks until the run has finished or failed, or `timeout` seconds pass; returns it as it stands."""
    deadline = time.monotonic() + timeout
    pubsub = rt.connection.pubsub(ignore_subscribe_messages=True)
    try:
        pubsub.subscribe(_done_channel(run_id))
        while True:
            run = load(rt, run_id)  # after subscribing: an end published in between is not missed
            remaining = deadline - time.monotonic()
            if run.status in ("finished", "failed") or remaining <= 0:
                return run
            pubsub.get_message(timeout=min(remaining, 1.0))
    finally:
        pubsub.close()


def _jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    try:
        json.dumps(value)
        return value
    except TypeError:
        return str(value)
