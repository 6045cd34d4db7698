"""Periodic repairs, run by the scheduler: nothing is lost when a process dies at a bad moment."""

from __future__ import annotations

import time
from datetime import timedelta

from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from signoff import deadlines, lifecycle, notify, retention
from signoff.job_runtime import job_runtime
from signoff.jobs import signoff_job
from signoff.logging import log
from signoff.models import Status, utcnow
from signoff.runtime import JOB_SERIALIZER, Runtime
from workers.worker import recover_abandoned


def release_stranded(rt: Runtime) -> int:
    """Approved actions whose run job was never enqueued (the decider died in between)."""
    released = 0
    for action in rt.store.newest(Status.APPROVED, limit=1000):
        if not action.func:
            continue
        queued = Job.exists(lifecycle.run_job_id(action.id, action.version), connection=rt.connection)
        if not queued and not _routing_pending(rt, action.id):
            lifecycle.release_run_job(rt, action)
            released += 1
    return released


def _under_way(rt: Runtime, job_id: str) -> bool:
    """Whether the job exists and is queued, running, or waiting for its retry or its time."""
    try:
        job = Job.fetch(job_id, connection=rt.connection, serializer=JOB_SERIALIZER)
    except NoSuchJobError:
        return False
    return job.get_status() in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED)


def _routing_pending(rt: Runtime, action_id: str) -> bool:
    # An auto-approved action runs inside its routing job: that job, not a run job, carries it.
    return _under_way(rt, lifecycle.route_job_id(action_id))


def repost_unposted(rt: Runtime, now: float | None = None) -> int:
    """Waiting actions whose approval request never reached Slack (an outage longer than the retries):
    posted again, each after its own capped back-off, for as long as they wait."""
    if not rt.slack_enabled:
        return 0
    now = time.time() if now is None else now
    reposted = 0
    for action in rt.store.newest(Status.PENDING_APPROVAL, limit=1000):
        if action.slack.get("ts") or action.slack.get("channel") or action.batch_id:
            continue  # posted, or part of a batch message
        due = float(action.slack.get("next_at") or action.created_at.timestamp() + 60)
        if now < due or _under_way(rt, notify.post_job_id(action.id)):
            continue
        notify.pending(rt, action)
        reposted += 1
    return reposted


@signoff_job
def sweep(now: float | None = None) -> dict[str, int]:
    rt = job_runtime()
    repaired = {"abandoned": recover_abandoned(rt), "stranded": release_stranded(rt),
                "reposted": repost_unposted(rt, now),
                # Due moments whose scheduled job was lost (a Redis restored from an older snapshot).
                "timers": deadlines.fire_due(rt, time.time() if now is None else now)}
    if any(repaired.values()):
        log.warning("swept", **repaired)
    return repaired


@signoff_job
def archive_history() -> dict[str, int] | None:
    """With SIGNOFF_RETENTION set: history older than it moves to the archive (see signoff.retention)."""
    rt = job_runtime()
    if rt.settings.retention is None:
        return None
    done = retention.archive(rt, utcnow() - timedelta(seconds=rt.settings.retention), rt.settings.archive_path)
    if done.actions or done.audit_entries:
        log.info("archived", actions=done.actions, audit_entries=done.audit_entries,
                 directory=str(rt.settings.archive_path))
    return {"actions": done.actions, "audit_entries": done.audit_entries}
