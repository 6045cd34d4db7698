"""The steps of an action's life, shared by the SDK, the CLI, the workers and the Slack app.

received -> pending_approval -> approved -> running -> succeeded | failed
                             -> rejected | canceled | expired
received -> approved (the policy lets it run) -> running -> ...   (one step when a worker routes it)

Each step is one atomic transition in the store. Approval enqueues the RQ job that runs the action
(one job id per approved version), in the same round trip as the Slack update; rejection, expiry and
cancellation leave nothing queued. The transition into running (from approved, or from received
in the routing step), not the job, makes a run happen once.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from redis.client import Pipeline
from rq import Callback, Retry

from policies.routing import Routing
from policies.subject import Subject
from signoff import allowances, notify, resumption, signing, timers
from signoff.catalog import ActionType
from signoff.errors import InvalidParams, NotAllowed, SignoffError, TransitionRefused
from signoff.models import DECIDABLE, Action, AuditEvent, Mode, Review, Status, person, utcnow
from signoff.runtime import Runtime
from signoff.store import AlreadyVoted

ROUTE_JOB = "workers.jobs.process_action"
RUN_JOB = "workers.jobs.run_action"
ON_FAILURE = Callback("workers.jobs.on_job_failure")

Decision = Literal["approve", "reject"]
DEADLINE_ACTOR = "policy:deadline"  # decisions the deadline makes; they never count as a vote


def route_job_id(action_id: str) -> str:
    return f"signoff-route-{action_id}"


def run_job_id(action_id: str, version: int) -> str:
    return f"signoff-run-{action_id}-v{version}"


def _retry(action: Action) -> Retry | None:
    return Retry(max=action.max_retries) if action.max_retries else None


def request(rt: Runtime, action_type: ActionType, params: dict[str, Any], *, agent: str, reason: str,
            review: bool = False, submitted_by: str | None = None,
            restore: list[ActionType] | None = None, action_id: str | None = None,
            run_id: str | None = None) -> Action:
    """Validates and records an action and queues it for routing, in one transaction.

    Invalid input raises InvalidParams and queues nothing. `restore` writes the SDK's declared types
    to the shared catalogue where they are missing (a Redis that lost them); it never overwrites.
    """
    if not agent or not agent.strip():
        raise InvalidParams(action_type.name, ["agent: is required (which agent wants this?)"])
    if not reason or not reason.strip():
        raise InvalidParams(action_type.name, ["reason: is required (why does the agent want this?)"])
    action = Action(
        **({"id": action_id} if action_id else {}),
        type=action_type.name, category=action_type.category, agent=agent, reason=reason,
        params=action_type.check_params(params), review_requested=review, func=action_type.func,
        max_retries=action_type.max_retries, owner=action_type.owner, submitted_by=submitted_by or agent,
        run_id=run_id,
    )
    with rt.connection.pipeline(transaction=True) as pipe:
        pipe.multi()  # explicit, as RQ expects of a caller's pipeline
        for declared in restore or []:
            rt.catalog.restore(declared, pipe)
        rt.store.create(action, AuditEvent(action_id=action.id, step="requested", actor=f"agent:{agent}",
                                           status_to=str(Status.RECEIVED), type=action.type,
                                           params_after=action.params, note=reason), pipe)
        rt.actions_queue.enqueue_call(ROUTE_JOB, args=(action.id,), job_id=route_job_id(action.id),
                                      on_failure=ON_FAILURE, retry=_retry(action), pipeline=pipe,
                                      result_ttl=0)
        pipe.execute()
    return action


def apply_routing(rt: Runtime, action: Action, routing: Routing, trusted: dict[str, Any] | None = None,
                  *, start_by: str | None = None) -> Action:
    """Records where the policy sent the action. `trusted` holds what the worker's own code says of
    the action (category, owner, function, parameters), which replaces what the client wrote.

    With `start_by` (the worker about to run it), an action the policy lets run that has a function
    is started in the same step: received -> approved -> running, each audited, one script call."""
    action = action.model_copy(update=trusted or {})
    approvers = routing.rule.approvers.model_dump() if routing.rule.approvers else None
    if routing.waiting and routing.waiting.chain:
        approvers = routing.waiting.approvers_now()
    changes: dict[str, Any] = {
        **(trusted or {}), "mode": routing.mode, "rule": routing.rule.name, "risk": routing.risk,
        "observations": routing.observations, "channel": routing.rule.channel, "approvers": approvers,
        "waiting": routing.waiting,
    }
    if routing.hold:
        if routing.waiting:
            timers.schedule(rt, action.id, routing.waiting)
        return rt.store.transition(
            action.id, Status.PENDING_APPROVAL, allowed_from={Status.RECEIVED}, changes=changes,
            event=AuditEvent(action_id=action.id, step="held", actor=f"policy:{routing.rule.name}",
                             rule=routing.rule.name, type=action.type,
                             note="; ".join(routing.risk) or None),  # the rule says why, unless a risk does
        )
    if routing.mode == Mode.POST_HOC:
        changes["review"] = Review.PENDING
    by = f"policy:{routing.rule.name}"
    changes.update(decided_by=by, decided_at=utcnow(), signature=signing.sign(
        rt.require_decision_key(), action.id, action.version, action.params, signing.APPROVED, by))
    event = AuditEvent(action_id=action.id, step="auto_approved", actor=by, rule=routing.rule.name, type=action.type)
    if routing.allowance is not None:  # said in its audit event, its record and (once it ran) the digest
        allowance = routing.allowance
        changes["allowance"] = {"id": allowance.id, "author": allowance.author}
        event = AuditEvent(action_id=action.id, step="allowed", actor=f"allowance:{allowance.id}",
                           rule=routing.rule.name, type=action.type,
                           note=f"allowed by {allowance.author}'s allowance {allowance.id} "
                                f"(until {allowance.expires_at:%Y-%m-%d %H:%M} UTC)")
        allowances.used(rt, allowance)
    if start_by is not None and action.func:
        changes["attempts"] = action.attempts + 1
        return rt.store.transition(action.id, Status.RUNNING, allowed_from={Status.RECEIVED}, changes=changes,
                                   event=_started(action, start_by), via=[(Status.APPROVED, event)])
    return rt.store.transition(action.id, Status.APPROVED, allowed_from={Status.RECEIVED}, changes=changes,
                               event=event)


def decide(rt: Runtime, action_id: str, decision: Decision, *, by: str, params: dict[str, Any] | None = None,
           note: str | None = None, version: int | None = None, batch: str | None = None,
           current: Action | None = None, follow_up: bool = True) -> Action:
    """A person's decision. Exactly one decision wins; the others get TransitionRefused.

    `batch` names the batch decision this one is part of, for the audit log. Nobody decides (or
    counts toward the quorum of) an action they submitted or whose agent they own. With
    `follow_up=False` the decision is recorded and its consequences (queueing the run, updating the
    message) are left to the caller's `follow_up()`: the Slack app acknowledges the click in between.
    """
    rt.require_decision_key()  # an agent holding only Redis credentials cannot decide
    # `current` saves a read where the caller has just read the action; the transition checks it anyway.
    current = current if current is not None and current.id == action_id else rt.store.get(action_id)
    _refuse_own(current, by)
    if decision == "reject":
        rejected = _reject(rt, current, by=by, note=note, version=version, batch=batch)
        return _followed(rt, rejected, follow_up)
    quorum = current.waiting.quorum if current.waiting else 1
    if quorum > 1 and by != DEADLINE_ACTOR:
        if params is not None:
            raise SignoffError(f"this action needs {quorum} approvals, so it cannot be edited on approval: "
                               "reject it with a note and let the agent ask again")
        try:
            votes = rt.store.vote(action_id, by, expect_version=version, event=AuditEvent(
                action_id=action_id, step="voted", actor=by, note=note, type=current.type, batch=batch))
        except AlreadyVoted as again:
            raise again.with_quorum(quorum) from None
        if votes < quorum:
            # The message shows each approval as it comes.
            return _followed(rt, rt.store.get(action_id), follow_up)
        note = note or f"{votes} of {quorum} approvals"
        current = rt.store.get(action_id)  # with every vote, for what the approval returns
    approved = _approve(rt, current, by=by, params=params, note=note, version=version, batch=batch)
    return _followed(rt, approved, follow_up)


def _followed(rt: Runtime, action: Action, now: bool) -> Action:
    if now:
        follow_up(rt, action)
    return action


def follow_up(rt: Runtime, decided: Action) -> None:
    """What a recorded decision sets going: the run of an approved action, and the message's update, in
    one round trip. Lost to a crash, the run is released by the scheduler's sweep."""
    with rt.connection.pipeline() as pipe:
        pipe.multi()
        if decided.status == Status.APPROVED and decided.func:
            release_run_job(rt, decided, pipe)
        notify.decided(rt, decided, pipe)
        resumption.settled(rt, decided, pipe)
        pipe.execute()


def _reject(rt: Runtime, current: Action, *, by: str, note: str | None, version: int | None,
            batch: str | None) -> Action:
    action_id = current.id
    signature = signing.sign(rt.require_decision_key(), action_id, current.version, current.params, "rejected", by)
    rejected = rt.store.transition(
        action_id, Status.REJECTED, allowed_from=DECIDABLE, expect_version=version, current=current,
        changes={"decided_by": by, "decided_at": utcnow(), "note": note, "signature": signature},
        event=AuditEvent(action_id=action_id, step="rejected", actor=by, note=note, batch=batch),
    )
    return rejected


def _approve(rt: Runtime, current: Action, *, by: str, params: dict[str, Any] | None, note: str | None,
             version: int | None, batch: str | None) -> Action:
    changes: dict[str, Any] = {"decided_by": by, "decided_at": utcnow(), "note": note}
    params_after = None
    final_params, final_version = current.params, current.version
    if params is not None:
        edited = edit_params(rt, current, params)
        if edited != current.params:
            params_after, final_params, final_version = edited, edited, current.version + 1
            changes.update(params=edited, original_params=current.params, version=final_version)
    changes["signature"] = signing.sign(rt.require_decision_key(), current.id, final_version, final_params,
                                        signing.APPROVED, by)
    approved = rt.store.transition(
        current.id, Status.APPROVED, allowed_from=DECIDABLE, changes=changes, current=current,
        expect_version=current.version if version is None else version,
        event=AuditEvent(action_id=current.id, step="edited_and_approved" if params_after else "approved",
                         actor=by, note=note, type=current.type, batch=batch,
                         params_before=current.params if params_after else None, params_after=params_after),
    )
    return approved


def subject(action: Action) -> Subject:
    """The action as the policy language sees it."""
    return Subject(type=action.type, category=action.category, agent=action.agent, params=action.params,
                   id=action.id, review_requested=action.review_requested)


def edit_params(rt: Runtime, action: Action, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters an edit makes, validated by the action's schema (else InvalidParams).

    An edit names what changes; the other parameters stay as the agent sent them.
    """
    return rt.catalog.get(action.type).check_params({**action.params, **params})


def _refuse_own(action: Action, by: str) -> None:
    # Identities, not strings: `U0BOB`, `slack:U0BOB` and ` U0BOB ` are one person.
    own = {person(action.submitted_by), person(action.owner)} - {None}
    if person(by) in own:
        raise NotAllowed(f"{by} submitted this action or owns its agent, so cannot decide it")


def approval_verifies(rt: Runtime, action: Action) -> bool:
    """Whether the action's approval was signed with this deployment's key, for these parameters."""
    return signing.verifies(rt.require_decision_key(), action.signature, action.id, action.version, action.params,
                            signing.APPROVED, action.decided_by)


def hold_unsigned(rt: Runtime, action: Action) -> Action:
    """An approval without a valid signature: back in front of a person, with the reason on the message."""
    why = "an approval without a valid signature was refused; a person must decide"
    held = rt.store.transition(
        action.id, Status.PENDING_APPROVAL, allowed_from={Status.APPROVED, Status.RUNNING},
        changes={"decided_by": None, "decided_at": None, "signature": None, "version": action.version + 1,
                 "risk": [*action.risk, why]},
        event=AuditEvent(action_id=action.id, step="approval_refused", actor="worker", type=action.type, note=why),
    )
    (notify.decided if held.slack.get("ts") else notify.pending)(rt, held)
    return held


def release_run_job(rt: Runtime, action: Action, pipe: Pipeline | None = None) -> None:
    """Queues the run of an approved action, under an id of its approved version (a repeat is harmless:
    the approved -> running transition lets one run start)."""
    rt.actions_queue.enqueue_call(RUN_JOB, args=(action.id,), job_id=run_job_id(action.id, action.version),
                                  on_failure=ON_FAILURE, retry=_retry(action), result_ttl=0, pipeline=pipe)


def cancel(rt: Runtime, action_id: str, *, by: str, note: str | None = None) -> Action:
    """Withdraws an action that has not started (the agent changed its mind)."""
    canceled = rt.store.transition(
        action_id, Status.CANCELED, allowed_from={Status.RECEIVED, Status.PENDING_APPROVAL},
        changes={"note": note}, event=AuditEvent(action_id=action_id, step="canceled", actor=by, note=note),
    )
    notify.decided(rt, canceled)
    resumption.settled(rt, canceled)
    return canceled


def start(rt: Runtime, action_id: str, worker: str, current: Action | None = None) -> Action:
    """approved -> running. Refused (TransitionRefused) if it already ran or is running: never twice.

    `current` saves a read when the caller has the action; the transition still checks its status.
    """
    current = current or rt.store.get(action_id)
    return rt.store.transition(action_id, Status.RUNNING, allowed_from={Status.APPROVED},
                               changes={"attempts": current.attempts + 1}, event=_started(current, worker))


def _started(action: Action, worker: str) -> AuditEvent:
    return AuditEvent(action_id=action.id, step="started", actor=f"worker:{worker}", type=action.type,
                      params_after=action.params)


def succeed(rt: Runtime, action: Action, result: Any) -> Action:
    done = rt.store.transition(
        # An attempt that succeeded clears the error an earlier, killed attempt left.
        action.id, Status.SUCCEEDED, allowed_from={Status.RUNNING}, changes={"result": _jsonable(result),
                                                                            "error": None},
        event=AuditEvent(action_id=action.id, step="succeeded", actor="worker", result=_jsonable(result)),
    )
    if action.observations:
        rt.signals.record(subject(action), action.observations)
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


def report(rt: Runtime, action: Action, status: Literal["succeeded", "failed"], result: Any, error: str | None,
           *, by: str) -> Action:
    """An agent that performs an approved action itself says how it ended, so the audit log is complete."""
    if action.func is not None:
        raise TransitionRefused(action.id, "run by a worker", None, None)
    to = Status.SUCCEEDED if status == "succeeded" else Status.FAILED
    return rt.store.transition(
        action.id, to, allowed_from={Status.APPROVED}, changes={"result": _jsonable(result), "error": error},
        event=AuditEvent(action_id=action.id, step=status, actor=by, result=_jsonable(result), error=error))


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def flag(rt: Runtime, action_id: str, *, by: str, note: str | None = None) -> Action:
    """A reviewer marks an action that ran without approval as wrong; recorded, it changes no status."""
    action = rt.store.get(action_id)
    rt.store.annotate(action_id, review=Review.FLAGGED,
                      event=AuditEvent(action_id=action_id, step="flagged", actor=by, type=action.type, note=note))
    return action.model_copy(update={"review": Review.FLAGGED})


def request_undo(rt: Runtime, action_id: str, *, by: str) -> Action:
    """Requests the undo of a flagged action; it waits for a person whatever the policy says."""
    action = rt.store.get(action_id)
    undo = rt.catalog.get(action.type).undo
    if undo is None:
        raise SignoffError(f"{action.type} has no undo registered")
    return request(rt, rt.catalog.get(undo), {"action_id": action_id}, agent=action.agent,
                   reason=f"Undo of {action.type} {action_id}, flagged by {by}", review=True, submitted_by=by)
