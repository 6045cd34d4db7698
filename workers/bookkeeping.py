"""RQ's per-job worker bookkeeping, with the same effect in fewer round trips.

Around every job RQ's worker sends its heartbeat (an HSET and two EXPIREs, each its own round
trip) three times within a few milliseconds (before and after dequeueing, after the job), once more
as the job starts, and writes its state `idle` twice in a row. A heartbeat only pushes the worker's
expiry minutes ahead, so Signoff's workers send each as one pipeline, skip one that would come
within a second of the last without asking for a longer life, and skip writing a state the worker
already wrote. A job that succeeded with no callback to run is not given a last heartbeat just
before it is deleted. About 10 round trips fewer per job, and the same worker record for `rq info`
and the dashboards.
"""

from __future__ import annotations

import time
from typing import Any

from redis.client import Pipeline
from rq.job import Job, JobStatus
from rq.utils import now

#: A heartbeat this soon after the last (and asking no longer a life) changes nothing worth a round trip.
HEARTBEAT_COALESCE = 1.0


class LeanBookkeeping:
    """Mixed into an RQ worker class (before it)."""

    connection: Any
    worker_ttl: int
    _state: str
    _beat_at = float("-inf")
    _beat_ttl = 0
    _state_saved: str | None = None
    _starting_job = False

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        timeout = timeout or self.worker_ttl + 60
        if self._needless(timeout) and (pipeline is None or self._starting_job):
            return  # the expiry set a moment ago is at most a second short of this one's
        if pipeline is not None:  # part of RQ's own transaction: it goes with it
            super().heartbeat(timeout, pipeline)  # type: ignore[misc]
            self._beaten(timeout)
            return
        with self.connection.pipeline(transaction=False) as pipe:
            super().heartbeat(timeout, pipe)  # type: ignore[misc]
            pipe.execute()
        self._beaten(timeout)

    def _needless(self, timeout: int) -> bool:
        return time.monotonic() - self._beat_at < HEARTBEAT_COALESCE and timeout <= self._beat_ttl

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        # The job's start (in the forked horse, which inherits the clock of the worker's last beat)
        # follows the worker's own heartbeat at dequeue by milliseconds. Only here is a heartbeat left
        # out of RQ's pipeline: elsewhere RQ reads that pipeline's replies by position.
        self._starting_job = True
        try:
            super().prepare_job_execution(job, remove_from_intermediate_queue)  # type: ignore[misc]
        finally:
            self._starting_job = False

    def handle_execution_ended(self, job: Job, queue: Any, heartbeat_ttl: int) -> None:
        # RQ's last heartbeat covers a callback about to run; a success with none is deleted next.
        if job.get_status(refresh=False) != JobStatus.FAILED and job.success_callback is None:
            job.ended_at = now()
            return
        super().handle_execution_ended(job, queue, heartbeat_ttl)  # type: ignore[misc]

    def _beaten(self, timeout: int) -> None:
        self._beat_at, self._beat_ttl = time.monotonic(), timeout

    def set_state(self, state: str, pipeline: Pipeline | None = None) -> None:
        if pipeline is None and state == self._state_saved:
            return
        super().set_state(state, pipeline)  # type: ignore[misc]
        # Written with a pipeline, it is saved only once that runs: the next write is not skipped.
        self._state_saved = state if pipeline is None else None
