"""`signoff worker`: RQ's own worker on Signoff's queues, with a handler for killed work horses."""

from __future__ import annotations

import os
import sys

from rq import Worker
from rq.registry import StartedJobRegistry

from signoff.runtime import QUEUES, Runtime
from workers.jobs import on_horse_killed


def build_worker(rt: Runtime, queues: tuple[str, ...] = QUEUES, name: str | None = None) -> Worker:
    # Jobs import the agent's action functions by module path, as `rq worker` does from its cwd.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    rt.policy  # noqa: B018 - load the policy now: a broken file stops the worker at start, not mid-job
    return Worker(list(queues), connection=rt.connection, name=name, work_horse_killed_handler=on_horse_killed)


def run_worker(rt: Runtime, *, burst: bool = False, with_scheduler: bool = True, name: str | None = None) -> bool:
    return build_worker(rt, name=name).work(burst=burst, with_scheduler=with_scheduler)


def recover_abandoned(rt: Runtime, at: float | None = None) -> int:
    """Hands jobs whose worker died (no heartbeat by `at`) to their failure handling; returns how many."""
    count = 0
    for name in QUEUES:
        registry = StartedJobRegistry(name, connection=rt.connection)
        count += len(registry.get_expired_job_ids(at))
        registry.cleanup(timestamp=at)
    return count
