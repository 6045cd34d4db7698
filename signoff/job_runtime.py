"""The Runtime a job uses: one per worker process, on the connection RQ gave the job."""

from __future__ import annotations

import redis
from rq import get_current_job

from signoff.runtime import Runtime

_runtimes: dict[int, Runtime] = {}


def job_runtime() -> Runtime:
    job = get_current_job()
    if job is None:
        raise RuntimeError("job_runtime() is only available inside an RQ job")
    return runtime_for(job.connection)


def adopt(rt: Runtime) -> None:
    """Makes `rt` the runtime of jobs on its connection. A worker calls it before forking its work
    horses, so each horse starts with the policy loaded and the scripts registered, not from scratch."""
    _runtimes[id(rt.connection)] = rt


def runtime_for(connection: redis.Redis) -> Runtime:
    key = id(connection)
    if key not in _runtimes:
        _runtimes[key] = Runtime(connection=connection)
    return _runtimes[key]
