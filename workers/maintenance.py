"""Periodic repairs, run by the scheduler: nothing is lost when a process dies at a bad moment."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import cast

from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from signoff import deadlines, lifecycle, notify, retention
from signoff.job_runtime import job_runtime
from signoff.jobs import signoff_job
from signoff.logging import log
from signoff.models import Status, utcnow
from signoff.runtime import JOB_SERIALIZER, Runtime
from signoff.store import UNPOSTED
from workers.worker import recover_abandoned


def release_stranded(rt: Runtime) -> int:
    """Approved actions whose run job was never enqueued (the decider died in between): the oldest
    first, since a stranded one only grows older while newer ones come and go."""
    released = 0
    for action in rt.store.oldest(Status.APPROVED, limit=1000):
        if not action.func:
            # Performed elsewhere and never admitted (its decider died before queueing the door's check).
            admit = lifecycle.admission_job_id(action)
            if action.permit is None and not Job.exists(admit, connection=rt.connection):
                lifecycle.release_admission(rt, action)
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
    posted again, each after its own capped back-off, for as long as they wait.

    Read from the index of waiting actions not yet in Slack, due ones only (see `store.UNPOSTED`):
    what the sweep reads is what it may have to do, however many actions wait."""
    if not rt.slack_enabled:
        return 0
    now = time.time() if now is None else now
    due = [i.decode() for i in cast(list[bytes], rt.connection.zrangebyscore(UNPOSTED, "-inf", now,
                                                                             start=0, num=1000))]
    found = {action.id: action for action in rt.store.get_many(due)}
    done, later, reposted = [], {}, 0
    for action_id in due:
        action = found.get(action_id)
        if (action is None or action.status != Status.PENDING_APPROVAL or action.slack.get("ts")
                or action.slack.get("channel") or action.batch_id):
            done.append(action_id)  # gone, decided, posted, or part of a batch message
            continue
        next_at = float(action.slack.get("next_at") or 0)  # set by its last try, from that try's back-off
        if now < next_at:
            later[action_id] = next_at
            continue
        attempts = int(action.slack.get("attempts", "0"))
        if not _under_way(rt, notify.post_job_id(action_id)):
            notify.pending(rt, action)
            reposted += 1
            attempts += 1
        later[action_id] = now + notify.backoff(attempts)  # looked at again after its back-off
    with rt.connection.pipeline(transaction=False) as pipe:
        if done:
            pipe.zrem(UNPOSTED, *done)
        if later:
            pipe.zadd(UNPOSTED, later, xx=True)  # not one its post has meanwhile taken off
        pipe.execute()
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
