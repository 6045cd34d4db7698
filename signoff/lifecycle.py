"""The steps of an action's life, shared by the SDK, the CLI, the workers and the Slack app.

received -> pending_approval -> approved -> running -> succeeded | failed
                             -> rejected | canceled | expired
received -> approved (the policy lets it run) -> running -> ...

Each step is one atomic transition in the store. The RQ job that runs an action is created when
the action starts to wait; approval enqueues it, rejection cancels it.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, Literal

from rq import Callback, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job

from policies.routing import Routing
from signoff import notify
from signoff.catalog import ActionType
from signoff.errors import InvalidParams, NotAllowed, SignoffError
from signoff.models import DECIDABLE, Action, AuditEvent, Mode, Review, Status, utcnow
from signoff.runtime import Runtime

ROUTE_JOB = "workers.jobs.process_action"
RUN_JOB = "workers.jobs.run_action"
ON_FAILURE = Callback("workers.jobs.on_job_failure")

Decision = Literal["approve", "reject"]
DEADLINE_ACTOR = "policy:deadline"  # decisions the deadline makes; they never count as a vote


def route_job_id(action_id: str) -> str:
    return f"signoff-route-{action_id}"


def run_job_id(action_id: str) -> str:
    return f"signoff-run-{action_id}"


def _retry(action: Action) -> Retry | None:
    return Retry(max=action.max_retries) if action.max_retries else None


def request(rt: Runtime, action_type: ActionType, params: dict[str, Any], *, agent: str, reason: str,
            review: bool = False, submitted_by: str | None = None,
            register: list[ActionType] | None = None) -> Action:
    """Validates and records an action and queues it for routing, in one transaction.

    Invalid input raises InvalidParams and queues nothing. `register` also (re)writes action types
    to the shared catalogue, as the SDK does for the functions it declares.
    """
    if not agent or not agent.strip():
        raise InvalidParams(action_type.name, ["agent: is required (which agent wants this?)"])
    if not reason or not reason.strip():
        raise InvalidParams(action_type.name, ["reason: is required (why does the agent want this?)"])
    action = Action(
        type=action_type.name, category=action_type.category, agent=agent, reason=reason,
        params=action_type.check_params(params), review_requested=review, func=action_type.func,
        max_retries=action_type.max_retries, owner=action_type.owner, submitted_by=submitted_by or agent,
    )
    with rt.connection.pipeline(transaction=True) as pipe:
        pipe.multi()  # explicit, as RQ expects of a caller's pipeline
        for declared in register or []:
            rt.catalog.register(declared, pipe)
        rt.store.create(action, AuditEvent(action_id=action.id, step="requested", actor=f"agent:{agent}",
                                           status_to=str(Status.RECEIVED), type=action.type,
                                           params_after=action.params, note=reason), pipe)
        rt.actions_queue.enqueue_call(ROUTE_JOB, args=(action.id,), job_id=route_job_id(action.id),
                                      on_failure=ON_FAILURE, retry=_retry(action), pipeline=pipe)
        pipe.execute()
    return action


def apply_routing(rt: Runtime, action: Action, routing: Routing) -> Action:
    approvers = routing.rule.approvers.model_dump() if routing.rule.approvers else None
    if routing.waiting and routing.waiting.chain:
        approvers = routing.waiting.approvers_now()
    changes: dict[str, Any] = {
        "mode": routing.mode, "rule": routing.rule.name, "risk": routing.risk,
        "observations": routing.observations, "channel": routing.rule.channel, "approvers": approvers,
        "waiting": routing.waiting,
    }
    if routing.hold:
        if action.func:
            # The run job exists before anyone can see the action waiting, so any approval finds it.
            _run_job(rt, action).save()
        if routing.waiting:
            from signoff import deadlines  # deadlines builds on this module

            deadlines.schedule(rt, action.id, routing.waiting)
        return rt.store.transition(
            action.id, Status.PENDING_APPROVAL, allowed_from={Status.RECEIVED}, changes=changes,
            event=AuditEvent(action_id=action.id, step="held", actor=f"policy:{routing.rule.name}",
                             rule=routing.rule.name, type=action.type,
                             note="; ".join(routing.risk) or f"rule {routing.rule.name} requires approval"),
        )
    if routing.mode == Mode.POST_HOC:
        changes["review"] = Review.PENDING
    changes.update(decided_by=f"policy:{routing.rule.name}", decided_at=utcnow())
    return rt.store.transition(
        action.id, Status.APPROVED, allowed_from={Status.RECEIVED}, changes=changes,
        event=AuditEvent(action_id=action.id, step="auto_approved", actor=f"policy:{routing.rule.name}",
                         rule=routing.rule.name, type=action.type),
    )


def decide(rt: Runtime, action_id: str, decision: Decision, *, by: str, params: dict[str, Any] | None = None,
           note: str | None = None, version: int | None = None, batch: str | None = None) -> Action:
    """A person's decision. Exactly one decision wins; the others get TransitionRefused.

    `batch` names the batch decision this one is part of, for the audit log. Nobody decides (or
    counts toward the quorum of) an action they submitted or whose agent they own.
    """
    current = rt.store.get(action_id)
    _refuse_own(current, by)
    if decision == "reject":
        return _reject(rt, action_id, by=by, note=note, version=version, batch=batch)
    quorum = current.waiting.quorum if current.waiting else 1
    if quorum > 1 and by != DEADLINE_ACTOR:
        if params is not None:
            raise SignoffError(f"this action needs {quorum} approvals, so it cannot be edited on approval: "
                               "reject it with a note and let the agent ask again")
        votes = rt.store.vote(action_id, by, expect_version=version, event=AuditEvent(
            action_id=action_id, step="voted", actor=by, note=note, type=current.type, batch=batch))
        if votes < quorum:
            voted = rt.store.get(action_id)
            notify.decided(rt, voted)  # the message shows each approval as it comes
            return voted
        note = note or f"{votes} of {quorum} approvals"
    return _approve(rt, current, by=by, params=params, note=note, version=version, batch=batch)


def _reject(rt: Runtime, action_id: str, *, by: str, note: str | None, version: int | None,
            batch: str | None) -> Action:
    rejected = rt.store.transition(
        action_id, Status.REJECTED, allowed_from=DECIDABLE, expect_version=version,
        changes={"decided_by": by, "decided_at": utcnow(), "note": note},
        event=AuditEvent(action_id=action_id, step="rejected", actor=by, note=note, batch=batch),
    )
    cancel_run_job(rt, action_id)
    notify.decided(rt, rejected)
    return rejected


def _approve(rt: Runtime, current: Action, *, by: str, params: dict[str, Any] | None, note: str | None,
             version: int | None, batch: str | None) -> Action:
    changes: dict[str, Any] = {"decided_by": by, "decided_at": utcnow(), "note": note}
    params_after = None
    if params is not None:
        edited = edit_params(rt, current, params)
        if edited != current.params:
            params_after = edited
            changes.update(params=edited, original_params=current.params, version=current.version + 1)
    approved = rt.store.transition(
        current.id, Status.APPROVED, allowed_from=DECIDABLE, changes=changes,
        expect_version=current.version if version is None else version,
        event=AuditEvent(action_id=current.id, step="edited_and_approved" if params_after else "approved",
                         actor=by, note=note, type=current.type, batch=batch,
                         params_before=current.params if params_after else None, params_after=params_after),
    )
    if approved.func:
        release_run_job(rt, approved)
    notify.decided(rt, approved)
    return approved


def edit_params(rt: Runtime, action: Action, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters an edit makes, validated by the action's schema (else InvalidParams).

    An edit names what changes; the other parameters stay as the agent sent them.
    """
    return rt.catalog.get(action.type).check_params({**action.params, **params})


def _run_job(rt: Runtime, action: Action) -> Job:
    return Job.create(RUN_JOB, args=(action.id,), id=run_job_id(action.id), connection=rt.connection,
                      origin=rt.actions_queue.name, on_failure=ON_FAILURE, retry=_retry(action))


def _refuse_own(action: Action, by: str) -> None:
    own = {action.submitted_by, action.owner, f"slack:{action.owner}" if action.owner else None} - {None}
    if by in own:
        raise NotAllowed(f"{by} submitted this action or owns its agent, so cannot decide it")


def release_run_job(rt: Runtime, action: Action) -> None:
    try:
        job = Job.fetch(run_job_id(action.id), connection=rt.connection)
    except NoSuchJobError:  # held before a restart that lost it: make it again
        job = _run_job(rt, action)
    rt.actions_queue.enqueue_job(job)


def cancel_run_job(rt: Runtime, action_id: str) -> None:
    with contextlib.suppress(NoSuchJobError):
        Job.fetch(run_job_id(action_id), connection=rt.connection).cancel()


def cancel(rt: Runtime, action_id: str, *, by: str, note: str | None = None) -> Action:
    """Withdraws an action that has not started (the agent changed its mind)."""
    canceled = rt.store.transition(
        action_id, Status.CANCELED, allowed_from={Status.RECEIVED, Status.PENDING_APPROVAL},
        changes={"note": note}, event=AuditEvent(action_id=action_id, step="canceled", actor=by, note=note),
    )
    cancel_run_job(rt, action_id)
    notify.decided(rt, canceled)
    return canceled


def start(rt: Runtime, action_id: str, worker: str, current: Action | None = None) -> Action:
    """approved -> running. Refused (TransitionRefused) if it already ran or is running: never twice.

    `current` saves a read when the caller has the action; the transition still checks its status.
    """
    current = current or rt.store.get(action_id)
    return rt.store.transition(
        action_id, Status.RUNNING, allowed_from={Status.APPROVED}, changes={"attempts": current.attempts + 1},
        event=AuditEvent(action_id=action_id, step="started", actor=f"worker:{worker}", type=current.type,
                         params_after=current.params),
    )


def succeed(rt: Runtime, action: Action, result: Any) -> Action:
    done = rt.store.transition(
        action.id, Status.SUCCEEDED, allowed_from={Status.RUNNING}, changes={"result": _jsonable(result)},
        event=AuditEvent(action_id=action.id, step="succeeded", actor="worker", result=_jsonable(result)),
    )
    if action.observations:
        rt.signals.record(action, action.observations)
    return done


def fail(rt: Runtime, action_id: str, error: str, *, retrying: bool) -> Action | None:
    """The run raised or its worker died: back to approved for a retry, or failed for good."""
    current = rt.store.get(action_id)
    if current.status not in (Status.RUNNING, Status.RECEIVED):
        return None  # it never started, or its end is already recorded
    if retrying and current.status == Status.RECEIVED:
        return None  # routing failed; RQ routes it again
    if retrying:
        return rt.store.transition(
            action_id, Status.APPROVED, allowed_from={Status.RUNNING}, changes={"error": error},
            event=AuditEvent(action_id=action_id, step="retrying", actor="worker", error=error),
        )
    return rt.store.transition(
        action_id, Status.FAILED, allowed_from={Status.RUNNING, Status.RECEIVED}, changes={"error": error},
        event=AuditEvent(action_id=action_id, step="failed", actor="worker", error=error),
    )


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def flag(rt: Runtime, action_id: str, *, by: str, note: str | None = None) -> Action:
    """A reviewer marks an action that ran without approval as wrong; recorded, it changes no status."""
    action = rt.store.get(action_id)
    rt.store.annotate(action_id, review=Review.FLAGGED)
    rt.store.append_audit(AuditEvent(action_id=action_id, step="flagged", actor=by, type=action.type, note=note))
    return rt.store.get(action_id)


def request_undo(rt: Runtime, action_id: str, *, by: str) -> Action:
    """Requests the undo of a flagged action; it waits for a person whatever the policy says."""
    action = rt.store.get(action_id)
    undo = rt.catalog.get(action.type).undo
    if undo is None:
        raise SignoffError(f"{action.type} has no undo registered")
    return request(rt, rt.catalog.get(undo), {"action_id": action_id}, agent=action.agent,
                   reason=f"Undo of {action.type} {action_id}, flagged by {by}", review=True, submitted_by=by)
