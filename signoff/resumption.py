"""The one hook between decisions and paused agent runs (see `signoff.runs`): a recorded decision on a
run's tool call queues the run's resumption, which goes ahead once every call of the run is settled."""

from __future__ import annotations

from redis.client import Pipeline

from signoff.models import Action, Status
from signoff.runtime import Runtime

RESUME_JOB = "workers.run_jobs.resume_run"
ASKED = frozenset({Status.RECEIVED, Status.PENDING_APPROVAL})


def settled(rt: Runtime, action: Action, pipe: Pipeline | None = None) -> None:
    if action.run_id and action.status not in ASKED:
        rt.actions_queue.enqueue_call(RESUME_JOB, args=(action.run_id,), result_ttl=0, pipeline=pipe)
