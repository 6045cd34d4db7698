"""`signoff scheduler`: RQ's own cron scheduler enqueues Signoff's periodic jobs."""

from __future__ import annotations

from rq.cron import CronScheduler

from signoff.runtime import ACTIONS_QUEUE, SLACK_QUEUE, Runtime
from workers import digest_jobs, maintenance

SWEEP_EVERY_SECONDS = 60


def build_scheduler(rt: Runtime) -> CronScheduler:
    scheduler = CronScheduler(connection=rt.connection, name="signoff-scheduler")
    scheduler.register(maintenance.sweep, ACTIONS_QUEUE, interval=SWEEP_EVERY_SECONDS)
    if rt.slack_enabled:  # each team's own clock, read in its timezone, decides whether its digest is due
        scheduler.register(digest_jobs.send_due_digests, SLACK_QUEUE, interval=60)
    return scheduler


def run_scheduler(rt: Runtime) -> None:
    build_scheduler(rt).start()
