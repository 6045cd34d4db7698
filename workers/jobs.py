"""The RQ jobs behind every action.

- process_action: applies the policy; an action allowed to run runs in the same job.
- run_action: the run of an approved action; approval enqueues it, one job per approved version.
- admit_action: the door's check of an approved action performed outside the worker; issues its permit.
Every run passes `signoff.door`: the approval must verify against this worker's own policy and
registry, and is consumed once, so a duplicate delivery never runs it twice. The function, its
category, owner, retries and parameter types come from this worker's own code (see
`signoff.registry`), never from what a client wrote to Redis.
"""

from __future__ import annotations

import os
from typing import Any

import redis
from pydantic import ValidationError
from rq.job import Job

from policies.routing import route
from signoff import allowances, door, inbox, lifecycle, notify, previews, registry, resumption, runs
from signoff.errors import InvalidParams, TransitionRefused, UnknownActionType
from signoff.job_runtime import job_runtime, runtime_for
from signoff.jobs import signoff_job
from signoff.keys import action_key
from signoff.logging import log
from signoff.models import Action, AuditEvent, Status
from signoff.runtime import Runtime
from signoff.schema import IDEMPOTENCY_PARAM
from signoff.store import transitions_channel
from workers import batch_jobs

_NO_FUNCTION = ("this worker has no function for action type {type!r}: start workers with SIGNOFF_ACTIONS naming "
                "the module that declares it")


def _trusted(rt: Runtime, action: Action) -> dict[str, Any]:
    """What this worker's own code says of the action, where the client's request says otherwise."""
    local = registry.get(action.type)
    if local is None:
        if action.func is not None:
            # The client claims a function this worker's code never declared: nothing of it may run.
            raise LookupError(_NO_FUNCTION.format(type=action.type))
        return {}
    trusted = local.action_type
    claimed = {"category": action.category, "owner": action.owner, "func": action.func,
               "max_retries": action.max_retries}
    wanted = {"category": trusted.category, "owner": trusted.owner, "func": trusted.func,
              "max_retries": trusted.max_retries}
    changes: dict[str, Any] = {k: v for k, v in wanted.items() if claimed[k] != v}
    if changes:
        log.warning("declaration_mismatch", action_id=action.id, type=action.type,
                    claimed={k: claimed[k] for k in changes}, trusted=changes)
    params = trusted.check_params(action.params)  # the worker's schema, not the catalogue's
    if params != action.params:
        changes["params"] = params
    return changes


@signoff_job
def record_request(action_id: str, type: str, params: dict[str, Any], agent: str, reason: str,
                   review: bool = False) -> str:
    """A request queued by an agent with a restricted Redis user (see `signoff.inbox`): recorded here,
    with this worker's catalogue, then routed like any other. A repeated delivery records nothing."""
    rt = job_runtime()
    if rt.connection.exists(action_key(action_id)):
        return "recorded already"
    try:
        action = lifecycle.request(rt, rt.catalog.get(type), params, agent=agent, reason=reason, review=review,
                                   action_id=action_id)
    except (InvalidParams, UnknownActionType) as refused:
        log.warning("request_refused", action_id=action_id, type=type, agent=agent, reason=str(refused))
        inbox.refuse(rt, action_id, str(refused))
        return "refused"
    rt.connection.publish(transitions_channel(action_id), str(action.status))  # a waiting ticket hears it
    return str(action.status)


@signoff_job
def process_action(action_id: str) -> str:
    rt = job_runtime()
    action = rt.store.get(action_id)
    if action.status == Status.RECEIVED:
        try:
            trusted = _trusted(rt, action)
        except (InvalidParams, LookupError) as refused:
            failed = lifecycle.fail(rt, action_id, str(refused), retrying=False)
            return str(failed.status if failed else action.status)
        routing = route(rt.policy, rt.signals, lifecycle.subject(action.model_copy(update=trusted)),
                        allowances=lambda: allowances.active(rt))
        # What the policy lets run starts in the routing's own step: one script call, not two.
        action = lifecycle.apply_routing(rt, action, routing, trusted, start_by=str(os.getpid()))
        log.info("routed", action_id=action_id, status=action.status, rule=action.rule, risk=action.risk)
        if action.status == Status.PENDING_APPROVAL and routing.paused:
            batch_jobs.add_paused(rt, action)  # a runaway agent's actions: one message, not one each
        elif action.status == Status.PENDING_APPROVAL and routing.rule.batch is not None and routing.mode == "batch":
            batch_jobs.add_to_batch(rt, action, routing.rule.name, routing.rule.batch)
        elif action.status == Status.PENDING_APPROVAL and (calls := runs.waiting_calls(rt, action)) > 1:
            batch_jobs.add_run_call(rt, action, calls)
        elif action.status == Status.PENDING_APPROVAL:
            action = _with_preview(rt, action)
            notify.pending(rt, action, here=True)  # posted by this job: no job of its own
        else:
            resumption.settled(rt, action)  # a paused run's call the policy let through here
        if action.status == Status.RUNNING:  # started by this routing step itself, just now
            return _run(rt, action)
    if action.status == Status.APPROVED and action.func:
        return _execute(rt, action_id, action)
    return str(action.status)


@signoff_job
def run_action(action_id: str) -> str:
    return _execute(job_runtime(), action_id)


def _kwargs(local: registry.LocalAction, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters as the function declared them (Decimal, datetime...), from the worker's own schema:
    attributes, not a JSON dump. The same for the action's function and its preview."""
    validated = local.params_model.model_validate(params)
    return {name: getattr(validated, name) for name in type(validated).model_fields}


def _with_preview(rt: Runtime, action: Action) -> Action:
    """A held action whose type has a preview: run it now, before the request is posted."""
    local = registry.get(action.type)
    if local is None or local.preview is None:
        return action
    preview = local.preview
    shown = previews.run(lambda: preview(**_kwargs(local, action.params)), {})  # bad params: shown, not raised
    shown["of"] = action.params_hash  # the parameters it shows the effect of (an edit changes them)
    rt.store.annotate(action.id, preview=shown)
    return action.model_copy(update={"preview": shown})


def _effect_changed(rt: Runtime, action: Action) -> Action | None:
    """The preview again, just before the run: a different effect than the one approved goes back to a
    person with the new preview (the record changed meanwhile); None when it is the same."""
    local = registry.get(action.type)
    if local is None or local.preview is None:
        return None
    preview = local.preview
    now = {**previews.run(lambda: preview(**_kwargs(local, action.params)), {}), "of": action.params_hash}
    shown = action.preview or {}
    if now["digest"] == shown.get("digest"):
        return None
    rt.store.annotate(action.id, preview=now)
    # After an edit the reviewer has not seen the edited effect yet: this is the first look, not a change.
    why = ("it was edited, and this is what the edited action would change: approve it again to run it"
           if shown.get("of") not in (None, action.params_hash) else "the effect changed since you approved it")
    return door.hold(rt, action.model_copy(update={"preview": now}), why)


def _execute(rt: Runtime, action_id: str, current: Action | None = None) -> str:
    current = current or rt.store.get(action_id)
    if current.status != Status.APPROVED:
        log.warning("not_started", action_id=action_id, reason=f"it is {current.status}")
        return str(current.status)
    if (changed := _effect_changed(rt, current)) is not None:
        log.warning("effect_changed", action_id=action_id)
        return str(changed.status)
    try:
        action = lifecycle.start(rt, action_id, worker=str(os.getpid()), current=current)
    except door.NotPermitted as refused:
        log.error("approval_refused", action_id=action_id, decided_by=current.decided_by, reason=str(refused))
        return str(door.hold(rt, current, str(refused)).status)
    except TransitionRefused as refused:
        log.warning("not_started", action_id=action_id, reason=str(refused))
        return refused.status
    return _run(rt, action)


@signoff_job
def admit_action(action_id: str, version: int) -> str:
    """An approved action performed outside the worker: the door's check here, then its permit."""
    rt = job_runtime()
    action = rt.store.get(action_id)
    if action.status != Status.APPROVED or action.version != version or action.func is not None or action.permit:
        return str(action.status)
    problems = door.refusals(rt, action)
    if problems:
        log.error("approval_refused", action_id=action_id, decided_by=action.decided_by, reasons=problems)
        return str(door.hold(rt, action, "; ".join(problems)).status)
    admitted = action.model_copy(update={"outright": False})  # a person's yes is allowed as theirs, not "outright"
    permitted = rt.store.transition(  # a transition, so whoever waits on the action hears of it
        action_id, Status.APPROVED, allowed_from={Status.APPROVED}, expect_version=version, current=action,
        changes={"permit": door.permit(rt, admitted), "outright": False},
        event=AuditEvent(action_id=action_id, step="permitted", actor=f"worker:{os.getpid()}", type=action.type))
    return str(permitted.status)


def _run(rt: Runtime, action: Action) -> str:
    """A started action (it passed the door): its function, once."""
    local = registry.get(action.type)
    if local is None:
        raise LookupError(_NO_FUNCTION.format(type=action.type))
    try:
        kwargs = _kwargs(local, action.params)
    except ValidationError as invalid:
        raise ValueError(f"the parameters no longer fit {action.type}: {invalid.errors()[0]['msg']}") from None
    if local.takes_idempotency_key:
        kwargs[IDEMPOTENCY_PARAM] = action.idempotency_key
    result = local.func(**kwargs)  # an exception goes to on_job_failure through RQ
    done = lifecycle.succeed(rt, action, result)
    notify.finished(rt, done, here=True)  # the message's update and reply, from this job
    return str(done.status)


def _action_id(job: Job) -> str:
    return str(job.args[0])


def _record_failure(connection: redis.Redis, job: Job, error: str) -> None:
    rt = runtime_for(connection)
    retrying = bool(job.retries_left)
    action = lifecycle.fail(rt, _action_id(job), error, retrying=retrying)
    if action is not None:
        log.warning("run_failed", action_id=action.id, error=error, retrying=retrying)
        if action.status == Status.FAILED:
            notify.finished(rt, action)


@signoff_job
def on_job_failure(job: Job, connection: redis.Redis, exc_type: Any, exc_value: Any, _tb: Any) -> None:
    """RQ's failure callback: the function raised, or RQ found the job abandoned by a dead worker."""
    if exc_type is not None and exc_type.__name__ == "AbandonedJobError":
        error = "the worker running this action died; it did not finish"
    else:
        error = f"{getattr(exc_type, '__name__', 'Error')}: {exc_value}"
    _record_failure(connection, job, error)


def on_horse_killed(job: Job, retpid: int, ret_val: int, _rusage: Any) -> None:
    """The worker's forked process died under the job (SIGKILL, out of memory): record it before RQ retries."""
    signal = os.WTERMSIG(ret_val) if ret_val and os.WIFSIGNALED(ret_val) else None
    why = f"signal {signal}" if signal else f"exit status {ret_val}"
    _record_failure(job.connection, job, f"the process running this action died ({why})")


