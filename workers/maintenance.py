"""Periodic repairs, run by the scheduler: nothing is lost when a process dies at a bad moment."""

from __future__ import annotations

from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from signoff import lifecycle
from signoff.logging import log
from signoff.models import Status
from signoff.runtime import JOB_SERIALIZER, Runtime
from workers.context import job_runtime
from workers.job_class import signoff_job
from workers.worker import recover_abandoned


def release_stranded(rt: Runtime) -> int:
    """Approved actions whose run job was never enqueued (the decider died in between)."""
    released = 0
    for action in rt.store.newest(Status.APPROVED, limit=1000):
        if not action.func:
            continue
        try:
            job = Job.fetch(lifecycle.run_job_id(action.id), connection=rt.connection, serializer=JOB_SERIALIZER)
            status = job.get_status()
        except NoSuchJobError:
            status = None
        if status in (None, JobStatus.CREATED) and not _routing_pending(rt, action.id):
            lifecycle.release_run_job(rt, action)
            released += 1
    return released


def _routing_pending(rt: Runtime, action_id: str) -> bool:
    # An auto-approved action runs inside its routing job: that job, not a run job, carries it.
    try:
        job = Job.fetch(lifecycle.route_job_id(action_id), connection=rt.connection, serializer=JOB_SERIALIZER)
    except NoSuchJobError:
        return False
    return job.get_status() in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED)


@signoff_job
def sweep() -> dict[str, int]:
    rt = job_runtime()
    repaired = {"abandoned": recover_abandoned(rt), "stranded": release_stranded(rt)}
    if any(repaired.values()):
        log.warning("swept", **repaired)
    return repaired
