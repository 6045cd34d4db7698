"""RQ's per-job worker bookkeeping, with the same effect in fewer round trips.

Around every job RQ's worker sends its heartbeat (an HSET and two EXPIREs, each its own round
trip) three times within a few milliseconds (before and after dequeueing, after the job), and
writes its state `idle` twice in a row. A heartbeat only pushes the worker's expiry minutes ahead,
so Signoff's workers send each as one pipeline, skip one that would come within a second of the
last without asking for a longer life, and skip writing a state the worker already wrote: 9 round
trips fewer per job, and the same worker record for `rq info` and the dashboards.
"""

from __future__ import annotations

import time
from typing import Any

from redis.client import Pipeline

#: A heartbeat this soon after the last (and asking no longer a life) changes nothing worth a round trip.
HEARTBEAT_COALESCE = 1.0


class LeanBookkeeping:
    """Mixed into an RQ worker class (before it): overrides `heartbeat` and `set_state`."""

    connection: Any
    worker_ttl: int
    _state: str
    _beat_at = float("-inf")
    _beat_ttl = 0
    _state_saved: str | None = None

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        timeout = timeout or self.worker_ttl + 60
        if pipeline is not None:  # part of RQ's own transaction: it goes with it
            super().heartbeat(timeout, pipeline)  # type: ignore[misc]
            self._beaten(timeout)
            return
        if time.monotonic() - self._beat_at < HEARTBEAT_COALESCE and timeout <= self._beat_ttl:
            return  # the expiry set a moment ago is at most a second short of this one's
        with self.connection.pipeline(transaction=False) as pipe:
            super().heartbeat(timeout, pipe)  # type: ignore[misc]
            pipe.execute()
        self._beaten(timeout)

    def _beaten(self, timeout: int) -> None:
        self._beat_at, self._beat_ttl = time.monotonic(), timeout

    def set_state(self, state: str, pipeline: Pipeline | None = None) -> None:
        if pipeline is None and state == self._state_saved:
            return
        super().set_state(state, pipeline)  # type: ignore[misc]
        # Written with a pipeline, it is saved only once that runs: the next write is not skipped.
        self._state_saved = state if pipeline is None else None
