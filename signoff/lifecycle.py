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

from typing import Any, Literal

from redis.client import Pipeline
from rq import Callback, Retry

from policies.routing import Routing
from policies.rules import Rule
from policies.subject import Subject
from signoff import allowances, away, confirmation, door, notify, resumption, timers
from signoff.catalog import ActionType
from signoff.door import DEADLINE_ACTOR
from signoff.errors import InvalidParams, NotAllowed, SignoffError, TransitionRefused
from signoff.logging import log
from signoff.models import DECIDABLE, Action, AuditEvent, Mode, Review, Status, person, utcnow
from signoff.runtime import Runtime
from signoff.store import AlreadyVoted

ROUTE_JOB = "workers.jobs.process_action"
RUN_JOB = "workers.jobs.run_action"
ADMIT_JOB = "workers.jobs.admit_action"
ON_FAILURE = Callback("workers.jobs.on_job_failure")

Decision = Literal["approve", "reject"]


def route_job_id(action_id: str) -> str:
    return f"signoff-route-{action_id}"


def run_job_id(action_id: str, version: int) -> str:
    return f"signoff-run-{action_id}-v{version}"


def _retry(action: Action) -> Retry | None:
    # The retries this process's own code declares, never a number the request carried.
    retries = door.trusted(action).max_retries
    return Retry(max=retries) if retries else None


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
        owner=action_type.owner, submitted_by=submitted_by or agent,
        run_id=run_id,
    )
    with rt.connection.pipeline(transaction=True) as pipe:
        pipe.multi()  # explicit, as RQ expects of a caller's pipeline
        for declared in restore or []:
            rt.catalog.restore(declared, pipe)
        _record_and_route(rt, action, f"agent:{agent}", reason, pipe)
        pipe.execute()
    return action


def _record_and_route(rt: Runtime, action: Action, actor: str, note: str, pipe: Pipeline) -> None:
    """A new action, its `requested` audit event and its routing job, in the caller's transaction."""
    rt.store.create(action, AuditEvent(action_id=action.id, step="requested", actor=actor,
                                       status_to=str(Status.RECEIVED), type=action.type,
                                       params_after=action.params, note=note), pipe)
    rt.actions_queue.enqueue_call(ROUTE_JOB, args=(action.id,), job_id=route_job_id(action.id),
                                  on_failure=ON_FAILURE, retry=_retry(action), pipeline=pipe, result_ttl=0)


def apply_routing(rt: Runtime, action: Action, routing: Routing, trusted: dict[str, Any] | None = None,
                  *, start_by: str | None = None) -> Action:
    """Records where the policy sent the action. `trusted` holds what the worker's own code says of
    the action (category, owner, function, parameters), which replaces what the client wrote.

    With `start_by` (the worker about to run it), an action the policy lets run that has a function
    is started in the same step: received -> approved -> running, each audited, one script call."""
    stored = action  # as read: the transitions write only what differs from it, and send nothing back
    action = action.model_copy(update=trusted or {})
    approvers = routing.rule.approvers.model_dump() if routing.rule.approvers else None
    if routing.waiting and routing.waiting.chain:
        # A level whose approvers are all away is passed at once: the first level with someone there is asked.
        routing.waiting = away.past_absent_levels(routing.waiting, away.absences(rt))
        approvers = routing.waiting.approvers_now()
    changes: dict[str, Any] = {
        **(trusted or {}), "mode": routing.mode, "rule": routing.rule.name, "risk": routing.risk,
        "observations": routing.observations, "channel": routing.rule.channel, "approvers": approvers,
        "waiting": routing.waiting,
    }
    if routing.hold:
        if routing.waiting:
            timers.schedule(rt, action.id, routing.waiting)
        waiting = routing.waiting
        passed = [f"{waiting.escalated_because}: asking level {waiting.level + 1}"] if waiting and \
            waiting.escalated_because else []
        return rt.store.transition(
            action.id, Status.PENDING_APPROVAL, allowed_from={Status.RECEIVED}, changes=changes,
            event=AuditEvent(action_id=action.id, step="held", actor=f"policy:{routing.rule.name}",
                             rule=routing.rule.name, type=action.type,
                             # the rule says why, unless a risk does; and which levels it passed at once
                             note="; ".join([*routing.risk, *passed]) or None, friction=friction(routing.rule)),
        )
    if routing.mode == Mode.POST_HOC:
        changes["review"] = Review.PENDING
    by = f"policy:{routing.rule.name}"
    if routing.allowance is not None:
        changes["allowance"] = {"id": routing.allowance.id, "author": routing.allowance.author}
    changes.update(door.approval(rt, action.model_copy(update=changes), by, votes=[]))
    # The door, before anything runs: this process's policy and registry must agree with the approval.
    approved = action.model_copy(update={**changes, "status": Status.APPROVED})
    problems = door.refusals(rt, approved)
    if problems:
        log.error("routing_refused_by_door", action_id=action.id, reasons=problems)
        start_by = None
    elif action.func is None:
        # Said by this worker's rule, whatever the stored record says: the permit binds it.
        changes["outright"] = routing.rule.allow_outright
        approved = approved.model_copy(update={"outright": routing.rule.allow_outright})
        changes["permit"] = door.permit(rt, approved)  # run by the agent, the gate or the hook, on this permit
    event = AuditEvent(action_id=action.id, step="auto_approved", actor=by, rule=routing.rule.name, type=action.type)
    if routing.allowance is not None:  # said in its audit event, its record and (once it ran) the digest
        allowance = routing.allowance
        event = AuditEvent(action_id=action.id, step="allowed", actor=f"allowance:{allowance.id}",
                           rule=routing.rule.name, type=action.type,
                           note=f"allowed by {allowance.author}'s allowance {allowance.id} "
                                f"(until {allowance.expires_at:%Y-%m-%d %H:%M} UTC)")
        allowances.used(rt, allowance)
    if start_by is not None and action.func:
        changes["attempts"] = action.attempts + 1
        return rt.store.transition(action.id, Status.RUNNING, allowed_from={Status.RECEIVED}, changes=changes,
                                   event=door.started(action, f"worker:{start_by}"), via=[(Status.APPROVED, event)],
                                   consume=(changes["nonce"], "start", door.attempts_allowed(action)), current=stored)
    routed = rt.store.transition(action.id, Status.APPROVED, allowed_from={Status.RECEIVED}, changes=changes,
                                 event=event, current=stored)
    return door.hold(rt, routed, "; ".join(problems)) if problems else routed


def friction(rule: Rule) -> str | None:
    """What a rule asks of a reviewer beyond a click, as the audit log records it when an action is held."""
    asked = [*(["typed"] if rule.confirm == "typed" else []),
             *([f"fresh look {rule.min_review_seconds}s"] if rule.min_review_seconds else [])]
    return ", ".join(asked) or None


class NotConfirmed(SignoffError):
    """A rule asks for a typed confirmation, and this yes came without it (or with something else)."""

    @property
    def for_reviewer(self) -> str:
        return str(self)


def decide(rt: Runtime, action_id: str, decision: Decision, *, by: str, params: dict[str, Any] | None = None,
           note: str | None = None, version: int | None = None, batch: str | None = None,
           current: Action | None = None, follow_up: bool = True, via: str | None = None,
           typed: str | None = None, stands_for: str | None = None) -> Action:
    """A person's decision. Exactly one decision wins; the others get TransitionRefused.

    `batch` names the batch decision this one is part of, for the audit log. Nobody decides (or
    counts toward the quorum of) an action they submitted or whose agent they own. With
    `follow_up=False` the decision is recorded and its consequences (queueing the run, updating the
    message) are left to the caller's `follow_up()`: the Slack app acknowledges the click in between.
    `via` says how the caller found the person allowed, where not by name (`group:S…`: a member of it).

    Every yes is a signed vote (see signoff.door); the quorum counts distinct people whose votes verify.
    `typed`: the confirmation a rule with `confirm: typed` asks for (see signoff.confirmation).
    `stands_for`: the away approver whose delegate `by` is (see signoff.away); the audit log and the
    message say "by @bob for @alice (away)", and the door counts it only where the rule allows delegation.
    """
    rt.require_decision_key()  # an agent holding only Redis credentials cannot decide
    # `current` saves a read where the caller has just read the action; the transition checks it anyway.
    current = current if current is not None and current.id == action_id else rt.store.get(action_id)
    _refuse_own(current, by)
    if stands_for:
        _refuse_own(current, stands_for)  # a delegate has the checks of the person they stand in for
    if decision == "reject":
        rejected = _reject(rt, current, by=by, note=note, version=version, batch=batch, stands_for=stands_for)
        return _followed(rt, rejected, follow_up)
    quorum = current.waiting.quorum if current.waiting else 1
    if by != DEADLINE_ACTOR and current.waiting is not None and current.waiting.confirm == "typed":
        wanted = confirmation.asked(current)
        if typed is None:  # Approve all, an allowance, a bare CLI approve: never around the typing
            raise NotConfirmed(f"rule {current.rule} asks the reviewer to type {wanted.what} ({wanted.expected}) "
                               "before approving: approve it from its own message (or `signoff approve --typed`)")
        if not confirmation.matches(current, typed):
            raise NotConfirmed(f"{typed!r} is not {wanted.what}: type {wanted.expected} to approve")
    if by == DEADLINE_ACTOR:
        approved = _approve(rt, current, by=by, params=None, note=note, version=version, batch=batch, via=None)
        return _followed(rt, approved, follow_up)
    if quorum > 1:
        if params is not None:
            raise SignoffError(f"this action needs {quorum} approvals, so it cannot be edited on approval: "
                               "reject it with a note and let the agent ask again")
        try:
            rt.store.vote(action_id, door.vote(rt, current, by, via, typed, stands_for), expect_version=version,
                          event=AuditEvent(action_id=action_id, step="voted", actor=by, note=note, type=current.type,
                                           batch=batch, on_behalf_of=person(stands_for)))
        except AlreadyVoted as again:
            raise again.with_quorum(quorum) from None
        current = rt.store.get(action_id)  # with every vote, for what the approval returns
        people = len(door.verified_people(rt, current))  # a vote written into Redis by hand counts for nothing
        if people < quorum:
            # The message shows each approval as it comes.
            return _followed(rt, current, follow_up)
        approved = _approve(rt, current, by=by, params=None, note=note or f"{people} of {quorum} approvals",
                            version=version, batch=batch, via=via, voted=True, typed=typed, stands_for=stands_for)
        return _followed(rt, approved, follow_up)
    approved = _approve(rt, current, by=by, params=params, note=note, version=version, batch=batch, via=via,
                        typed=typed, stands_for=stands_for)
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
        elif decided.status == Status.APPROVED:
            release_admission(rt, decided, pipe)
        notify.decided(rt, decided, pipe)
        resumption.settled(rt, decided, pipe)
        pipe.execute()


def _reject(rt: Runtime, current: Action, *, by: str, note: str | None, version: int | None,
            batch: str | None, stands_for: str | None = None) -> Action:
    action_id = current.id
    signature = door.rejection_signature(rt, current, by)
    rejected = rt.store.transition(
        action_id, Status.REJECTED, allowed_from=DECIDABLE, expect_version=version, current=current,
        changes={"decided_by": by, "decided_at": utcnow(), "note": note, "signature": signature,
                 "decided_for": person(stands_for)},
        event=AuditEvent(action_id=action_id, step="rejected", actor=by, note=note, batch=batch,
                         on_behalf_of=person(stands_for)),
    )
    return rejected


def _approve(rt: Runtime, current: Action, *, by: str, params: dict[str, Any] | None, note: str | None,
             version: int | None, batch: str | None, via: str | None, voted: bool = False,
             typed: str | None = None, stands_for: str | None = None) -> Action:
    changes: dict[str, Any] = {"note": note, "decided_for": person(stands_for)}
    params_after = None
    if params is not None:
        edited = edit_params(rt, current, params)
        if edited != current.params:
            params_after = edited
            changes.update(params=edited, original_params=current.params, version=current.version + 1)
    final = current.model_copy(update=changes)
    # A person's yes is their signed vote on the action as it will run; the deadline's is no one's vote.
    if by == DEADLINE_ACTOR:
        votes: list[dict[str, str]] = []
    elif voted:  # a quorum: the votes cast so far that verify
        votes = [v for v in current.votes if door.vote_verifies(rt, current, v)]
    else:
        votes = [door.vote(rt, final, by, via, typed, stands_for)]
    changes.update(door.approval(rt, final, by, votes=votes))
    approved = rt.store.transition(
        current.id, Status.APPROVED, allowed_from=DECIDABLE, changes=changes, current=current,
        expect_version=current.version if version is None else version,
        event=AuditEvent(action_id=current.id, step="edited_and_approved" if params_after else "approved",
                         actor=by, note=note, type=current.type, batch=batch, on_behalf_of=person(stands_for),
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


def release_run_job(rt: Runtime, action: Action, pipe: Pipeline | None = None) -> None:
    """Queues the run of an approved action, under an id of its approved version (a repeat is harmless:
    the approved -> running transition lets one run start)."""
    rt.actions_queue.enqueue_call(RUN_JOB, args=(action.id,), job_id=run_job_id(action.id, action.version),
                                  on_failure=ON_FAILURE, retry=_retry(action), result_ttl=0, pipeline=pipe)


def release_admission(rt: Runtime, action: Action, pipe: Pipeline | None = None) -> None:
    """Queues the door's check of an approved action that an agent, the MCP gate or the hook performs:
    a worker checks it against its own policy and registry, and issues the permit it runs on."""
    rt.actions_queue.enqueue_call(ADMIT_JOB, args=(action.id, action.version), result_ttl=0, pipeline=pipe,
                                  job_id=admission_job_id(action))


def admission_job_id(action: Action) -> str:
    return f"signoff-admit-{action.id}-v{action.version}"


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
    """approved -> running through the door: refused (door.NotPermitted) unless the approval verifies
    against this worker's policy and registry, and (TransitionRefused, ApprovalUsed) if it already ran
    or is running: never twice. `current` saves a read when the caller has the action."""
    current = door.admitted(rt, current or rt.store.get(action_id))
    return door.enter(rt, current, f"worker:{worker}")


def succeed(rt: Runtime, action: Action, result: Any) -> Action:
    done = door.leave(rt, action, result=result, tell=False)
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
    if current.status == Status.RUNNING:
        return door.leave(rt, current, error=error, retrying=retrying, tell=False)
    return rt.store.transition(
        action_id, Status.FAILED, allowed_from={Status.RUNNING, Status.RECEIVED}, changes={"error": error},
        event=AuditEvent(action_id=action_id, step="failed", actor="worker", error=error),
    )


def report(rt: Runtime, action: Action, status: Literal["succeeded", "failed"], result: Any, error: str | None,
           *, by: str) -> Action:
    """An agent that performs an approved action itself says how it ended, so the audit log is complete.
    Its run passes the door like any other: on the worker's permit, once (door.NotPermitted, ApprovalUsed)."""
    if action.func is not None:
        raise TransitionRefused(action.id, "run by a worker", None, None)
    if action.status == Status.APPROVED:
        action = door.enter_elsewhere(rt, action, by, call_type=action.type, call_agent=action.agent)
    if action.status != Status.RUNNING:
        raise TransitionRefused(action.id, str(action.status), action.decided_by, action.decided_at)
    failed = status != "succeeded"
    return door.leave(rt, action, result=result, error=(error or "failed") if failed else None, by=by)


def flag(rt: Runtime, action_id: str, *, by: str, note: str | None = None) -> Action:
    """A reviewer marks an action that ran without approval as wrong; recorded, it changes no status."""
    action = rt.store.get(action_id)
    rt.store.annotate(action_id, review=Review.FLAGGED,
                      event=AuditEvent(action_id=action_id, step="flagged", actor=by, type=action.type, note=note))
    return action.model_copy(update={"review": Review.FLAGGED})


def rerequest(rt: Runtime, action_id: str, *, by: str) -> Action:
    """An expired action asked again, as a new action linked to it (`rerequest_of`), routed afresh:
    the same type, parameters, agent and reason. Both audit logs say so."""
    old = rt.store.get(action_id)
    if old.status != Status.EXPIRED:
        raise TransitionRefused(action_id, str(old.status), old.decided_by, old.decided_at)
    action_type = rt.catalog.get(old.type)
    again = Action(type=old.type, category=action_type.category, agent=old.agent, reason=old.reason,
                   params=action_type.check_params(old.params), review_requested=old.review_requested,
                   func=action_type.func, owner=action_type.owner, submitted_by=old.submitted_by,
                   rerequest_of=old.id)
    with rt.connection.pipeline(transaction=True) as pipe:
        pipe.multi()
        _record_and_route(rt, again, by, f"asked again for {old.id}, which expired: {again.reason}", pipe)
        rt.store.annotate(old.id, AuditEvent(action_id=old.id, step="rerequested", actor=by,
                                             note=f"asked again as {again.id}"), pipe=pipe)
        pipe.execute()
    return again


def request_undo(rt: Runtime, action_id: str, *, by: str) -> Action:
    """Requests the undo of a flagged action; it waits for a person whatever the policy says."""
    action = rt.store.get(action_id)
    undo = rt.catalog.get(action.type).undo
    if undo is None:
        raise SignoffError(f"{action.type} has no undo registered")
    return request(rt, rt.catalog.get(undo), {"action_id": action_id}, agent=action.agent,
                   reason=f"Undo of {action.type} {action_id}, flagged by {by}", review=True, submitted_by=by)
