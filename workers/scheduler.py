"""`signoff scheduler`: RQ's own cron scheduler enqueues Signoff's periodic jobs."""

from __future__ import annotations

from rq.cron import CronScheduler

from signoff.runtime import ACTIONS_QUEUE, Runtime
from workers import maintenance

SWEEP_EVERY_SECONDS = 60


def build_scheduler(rt: Runtime) -> CronScheduler:
    scheduler = CronScheduler(connection=rt.connection, name="signoff-scheduler")
    scheduler.register(maintenance.sweep, ACTIONS_QUEUE, interval=SWEEP_EVERY_SECONDS)
    return scheduler


def run_scheduler(rt: Runtime) -> None:
    build_scheduler(rt).start()
