"""`signoff worker`: RQ's own worker on Signoff's queues, running only Signoff's jobs and this
worker's own action functions, with signed decisions, and riding out Redis restarts."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable
from typing import Any

from rq import Queue, SimpleWorker, Worker
from rq.exceptions import StopRequested
from rq.registry import StartedJobRegistry

from signoff import job_runtime, jobs, registry
from signoff.logging import log
from signoff.runtime import JOB_SERIALIZER, QUEUES, Runtime
from workers.bookkeeping import LeanBookkeeping
from workers.job_class import JOB_MODULES, SignoffJob
from workers.jobs import on_horse_killed
from workers.resilience import FIRST_WAIT, MAX_WAIT, until_redis_answers


def prepare(rt: Runtime, actions: list[str] | None = None, job_modules: Iterable[str] = JOB_MODULES) -> list[str]:
    """What a worker checks before it takes a job: a broken set-up stops it at start, not mid-job."""
    rt.require_decision_key()  # without it no approval can be verified: refuse to start
    rt.policy  # noqa: B018 - a broken policy file stops the worker here
    # Action modules are imported from the project directory, as `rq worker` does from its cwd.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    names = registry.import_action_modules(actions if actions is not None else rt.settings.action_modules)
    jobs.load(job_modules)
    rt.catalog.publish([local.action_type for local in registry.all_local()])
    # Built once here and inherited by each forked work horse, rather than rebuilt in every one.
    _built_once = (rt.store, rt.signals, rt.actions_queue, rt.slack_queue,
                   [local.action_type.params_model for local in registry.all_local()])
    job_runtime.adopt(rt)
    for warning in rt.policy.unknown_types(rt.catalog.names()):
        log.warning("policy_names_unknown_type", warning=warning)
    if not names:
        log.warning("no_action_functions", hint="set SIGNOFF_ACTIONS (or --actions) to the modules that declare "
                                                "your actions; until then approved actions with a function fail")
    return names


class _SignoffWorking(LeanBookkeeping):
    """What both of Signoff's worker classes add to RQ's: lean bookkeeping, and remembering a stop.

    RQ's `work()` returns the same way after a stop signal and after an exception it caught itself
    (a Redis connection lost mid-loop): only the first may end the process."""

    stop_signalled = False

    def request_stop(self, signum: Any, frame: Any) -> None:
        self.stop_signalled = True
        super().request_stop(signum, frame)  # type: ignore[misc]


class SignoffWorker(_SignoffWorking, Worker):
    """The default: each job in a forked work horse, so an action that crashes or hangs takes only
    its horse down."""


class SignoffSimpleWorker(_SignoffWorking, SimpleWorker):
    """`signoff worker --no-fork`: each job in the worker's own process, without a fork's cost; an
    action function that crashes the process takes the worker down (its job is then failed or
    retried as any abandoned job is)."""


def build_worker(rt: Runtime, queues: tuple[str, ...] = QUEUES, name: str | None = None,
                 fork: bool = True) -> SignoffWorker | SignoffSimpleWorker:
    worker_class: type[SignoffWorker | SignoffSimpleWorker] = SignoffWorker if fork else SignoffSimpleWorker
    worker = worker_class([Queue(q, connection=rt.connection, serializer=JOB_SERIALIZER, job_class=SignoffJob)
                           for q in queues], connection=rt.connection, name=name,
                          work_horse_killed_handler=on_horse_killed, serializer=JOB_SERIALIZER, job_class=SignoffJob)
    # RQ backs off up to a minute between attempts to reach Redis; after an outage a worker should be
    # back within seconds, not sleep through the first approvals.
    worker.max_connection_wait_time = MAX_WAIT
    return worker


def run_worker(rt: Runtime, *, burst: bool = False, with_scheduler: bool = True, name: str | None = None,
               actions: list[str] | None = None, job_modules: Iterable[str] = JOB_MODULES, fork: bool = True) -> bool:
    """Runs a worker; `job_modules` names every module whose jobs it may run (the root adds the Slack app's)."""
    until_redis_answers("worker", lambda: prepare(rt, actions, job_modules))
    worker = build_worker(rt, name=name, fork=fork)

    def forget_crashed() -> None:
        # The crashed run left the worker registered as alive; a new run under the same name needs it gone.
        worker.register_death()

    while True:
        worked = until_redis_answers("worker", lambda: worker.work(burst=burst, with_scheduler=with_scheduler),
                                     on_reconnect=forget_crashed)
        if burst or worker.stop_signalled:
            return worked
        # RQ caught something itself (typically Redis going away mid-loop), logged it and returned:
        # the worker was not asked to stop, so it carries on once Redis answers again.
        log.warning("worker_loop_ended_unasked", worker=worker.name, restart_in=FIRST_WAIT)
        try:
            time.sleep(FIRST_WAIT)  # whatever it was, not a hot loop
        except StopRequested:  # RQ's signal handler, still installed, answers a stop during the pause
            return worked
        until_redis_answers("worker", forget_crashed)


def recover_abandoned(rt: Runtime, at: float | None = None) -> int:
    """Hands jobs whose worker died (no heartbeat by `at`) to their failure handling; returns how many."""
    count = 0
    for name in QUEUES:
        registry_ = StartedJobRegistry(name, connection=rt.connection, serializer=JOB_SERIALIZER,
                                       job_class=SignoffJob)
        count += len(registry_.get_expired_job_ids(at))
        registry_.cleanup(timestamp=at)
    return count
