"""Paused agent runs: a framework's run stopped at tool calls that wait for people, resumed by a worker.

A framework adapter (see `signoff.integrations`) turns each paused tool call into an action with the
run's id, and stores the framework's own serialized state with the run. The agent's process never
judges a call itself: every call is asked, and the worker routes it. When the last of those actions
is settled (let through by the policy, approved, edited, rejected, expired), a worker job resumes the
run with the framework's own mechanism: each approved call passes `signoff.door` there (checked,
consumed once, its outcome recorded), so a verdict written into Redis runs nothing. Where the run
pauses again, it waits again; where it ends, its output is kept for whoever waits. A call the
policy lets run costs the agent one short wait (`settle`), not a local guess.

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

from signoff import door, lifecycle
from signoff.catalog import ActionType
from signoff.errors import InvalidParams, SignoffError, TransitionRefused
from signoff.logging import log
from signoff.models import Action, Status, new_action_id
from signoff.resumption import ASKED
from signoff.runtime import Runtime

RUN_TTL = 90 * 24 * 3600  # seconds a run's record is kept after it last changed
SETTLE = 10.0  # seconds an adapter's run() waits for the worker's verdicts before returning it paused


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
    outputs: dict[str, Any] = field(default_factory=dict)  # call id -> what an approved tool returned


@dataclass(frozen=True)
class Finished:
    output: Any
    outputs: dict[str, Any] = field(default_factory=dict)  # call id -> what an approved tool returned


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
    # Calls refused before they were asked (arguments the tool's schema refuses): refusals only, so
    # nothing written here can let a call run.
    refused: dict[str, str] = Field(default_factory=dict)
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
    rt.connection.publish(_done_channel(run.id), run.status)  # every change: whoever waits looks again


def _refusal(message: str, args: dict[str, Any]) -> Verdict:
    return Verdict(decision="reject", args=args, by="signoff", message=message)


async def drive(rt: Runtime, gate: Gate, step: Step, run: Run | None = None) -> Run:
    """Carries a run on from `step`: every call becomes an action the worker routes, and the run is stored
    to wait for them (a call whose arguments the tool's schema refuses is refused here, and only that).
    Returns the run as it stands; see `settle` for the agent's short wait."""
    run = run or Run(gate=gate.name)
    while isinstance(step, Paused):
        refused: dict[str, str] = {}
        held: list[ToolCall] = []
        for call in step.calls:
            try:
                gate.action_type(call).check_params(call.args)  # the tool's own schema
            except InvalidParams as invalid:  # the model hears why, and nothing runs
                refused[call.call_id] = f"Signoff refused these arguments: {invalid}"
                continue
            held.append(call)
        if not held:  # only refusals: the framework hears them at once
            step = await gate.resume(step.state, {c: _refusal(m, {}) for c, m in refused.items()})
            continue
        run = run.model_copy(update={"state": step.state, "refused": refused, "status": "paused",
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


def settle(rt: Runtime, run: Run, timeout: float) -> Run:
    """The agent's short wait: until the run finishes or fails, or one of its calls waits for a person,
    or `timeout` passes. A run whose calls the policy lets through comes back finished."""
    deadline = time.monotonic() + timeout
    pubsub = rt.connection.pubsub(ignore_subscribe_messages=True)
    try:
        pubsub.subscribe(_done_channel(run.id))
        watched: set[str] = set()
        while True:
            run = load(rt, run.id)  # after subscribing: a change published in between is not missed
            fresh = set(run.calls.values()) - watched
            if fresh:
                pubsub.subscribe(*(f"signoff:transitions:{a}" for a in fresh))
                watched |= fresh
            actions = rt.store.get_many(list(run.calls.values()))
            held = any(a.status == Status.PENDING_APPROVAL for a in actions)
            remaining = deadline - time.monotonic()
            if run.status in ("finished", "failed") or (run.status == "paused" and held) or remaining <= 0:
                return run
            pubsub.get_message(timeout=min(remaining, 1.0))
    finally:
        pubsub.close()


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


def _through_the_door(rt: Runtime, action: Action, called_with: dict[str, Any]) -> tuple[Verdict, Action | None]:
    """The call's verdict, and the action started (consumed) when it may run: an approval that does not
    pass the door, or was used already, lets nothing run."""
    if action.status != Status.APPROVED:
        if action.status in (Status.RUNNING, Status.SUCCEEDED, Status.FAILED):
            return _refusal("Signoff already ran this call once; it does not run again.", called_with), None
        return verdict_of(action, called_with), None
    try:
        started = door.enter(rt, door.admitted(rt, action), "worker:resume")
    except (door.NotPermitted, TransitionRefused) as refused:
        log.error("run_call_refused", action_id=action.id, decided_by=action.decided_by, reason=str(refused))
        return _refusal(f"Signoff did not let this call run: {refused}", called_with), None
    return verdict_of(started, called_with), started


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
    for action in actions:  # an approval the door refuses goes back to a person; the run waits for it
        if action.status == Status.APPROVED and (problems := door.refusals(rt, action)):
            door.hold(rt, action, "; ".join(problems))
            return None
    gate = _gates.get(run.gate)
    if gate is None:
        raise SignoffError(f"this worker has no agent registered as {run.gate!r}: start workers with "
                           "SIGNOFF_ACTIONS naming the module that adapts it")
    claimed = _claim(rt, run_id, run.round)
    if claimed is None:
        return None  # another job resumed it
    by_id = {a.id: a for a in actions}
    verdicts = {call: _refusal(message, {}) for call, message in claimed.refused.items()}
    started: dict[str, Action] = {}
    for call, action_id in claimed.calls.items():
        verdicts[call], entered = _through_the_door(rt, by_id[action_id], claimed.args[call])
        if entered is not None:
            started[call] = entered
    log.info("run_resuming", run_id=run_id, gate=gate.name, decisions={c: v.decision for c, v in verdicts.items()})
    try:
        step = await gate.resume(claimed.state, verdicts)
    except Exception as failed:
        error = f"{type(failed).__name__}: {failed}"
        for action in started.values():  # each started call ends, failed, in the records
            door.leave(rt, action, error=f"the resumed run failed: {error}", by="worker:resume")
        _save(rt, claimed.model_copy(update={"status": "failed", "error": error}))
        raise
    for call, action in started.items():  # the outcome of every call that ran, on its action
        door.leave(rt, action, result=step.outputs.get(call), by="worker:resume")
    return await drive(rt, gate, step, claimed.model_copy(update={"round": claimed.round + 1}))


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
