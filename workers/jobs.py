"""The RQ jobs behind every action.

- process_action: applies the policy; an action allowed to run runs in the same job.
- run_action: the job held while a person decides; approval enqueues it.
Both refuse to start an action that already started, so a duplicate delivery never runs it twice.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from typing import Any

import redis
from rq.job import Job
from rq.utils import import_attribute

from policies.routing import route
from signoff import lifecycle, notify
from signoff.errors import TransitionRefused
from signoff.logging import log
from signoff.models import Action, Status
from signoff.runtime import Runtime
from signoff.schema import IDEMPOTENCY_PARAM
from workers import batch_jobs
from workers.context import job_runtime, runtime_for


def process_action(action_id: str) -> str:
    rt = job_runtime()
    action = rt.store.get(action_id)
    if action.status == Status.RECEIVED:
        routing = route(rt.policy, rt.signals, action)
        action = lifecycle.apply_routing(rt, action, routing)
        log.info("routed", action_id=action_id, status=action.status, rule=action.rule, risk=action.risk)
        if action.status == Status.PENDING_APPROVAL and routing.rule.batch is not None:
            batch_jobs.add_to_batch(rt, action, routing.rule.name, routing.rule.batch)
        elif action.status == Status.PENDING_APPROVAL:
            notify.pending(rt, action)
    if action.status == Status.APPROVED and action.func:
        return _execute(rt, action_id, action)
    return str(action.status)


def run_action(action_id: str) -> str:
    return _execute(job_runtime(), action_id)


@functools.lru_cache(maxsize=256)
def _function(path: str) -> tuple[Callable[..., Any], bool]:
    """The action's function, and whether it takes an idempotency key."""
    handle = import_attribute(path)
    func = getattr(handle, "func", handle)  # the @signoff.action handle wraps the function
    return func, IDEMPOTENCY_PARAM in inspect.signature(func).parameters


def _execute(rt: Runtime, action_id: str, current: Action | None = None) -> str:
    try:
        action = lifecycle.start(rt, action_id, worker=str(os.getpid()), current=current)
    except TransitionRefused as refused:
        log.warning("not_started", action_id=action_id, reason=str(refused))
        return refused.status
    assert action.func is not None
    func, takes_key = _function(action.func)
    kwargs: dict[str, Any] = dict(action.params)
    if takes_key:
        kwargs[IDEMPOTENCY_PARAM] = action.idempotency_key
    result = func(**kwargs)  # an exception goes to on_job_failure through RQ
    done = lifecycle.succeed(rt, action, result)
    notify.finished(rt, done)
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
