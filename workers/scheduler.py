"""`signoff scheduler`: RQ's own cron scheduler enqueues Signoff's periodic jobs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from redis import Redis
from rq import Queue
from rq.cron import CronJob, CronScheduler
from rq.exceptions import StopRequested
from rq.job import Job

from signoff.runtime import ACTIONS_QUEUE, JOB_SERIALIZER, Runtime
from workers import maintenance
from workers.resilience import until_redis_answers

SWEEP_EVERY_SECONDS = 60
ARCHIVE_EVERY_SECONDS = 3600  # a no-op unless SIGNOFF_RETENTION is set


class JsonCronJob(CronJob):
    """RQ's cron job, enqueued with the JSON serializer Signoff's workers read (RQ's cron uses pickle)."""

    def enqueue(self, connection: Redis) -> Job:
        assert self.func is not None
        queue = Queue(self.queue_name, connection=connection, serializer=JOB_SERIALIZER)
        with connection.pipeline() as pipeline:
            job = queue.enqueue(self.func, args=self.args, kwargs=self.kwargs, **self.job_options, pipeline=pipeline)
            assert job.enqueued_at is not None
            pipeline.zadd(self.job_history_key, {job.id: job.enqueued_at.timestamp()})
            pipeline.execute()
        logging.getLogger(__name__).info("Enqueued job %s to queue %s", self.func.__name__, self.queue_name)
        return job


#: A periodic job another part adds (the composition root adds the Slack app's digests): function, queue, seconds.
Periodic = tuple[Callable[..., Any], str, int]


def build_scheduler(rt: Runtime, periodic: list[Periodic] | None = None) -> CronScheduler:
    scheduler = CronScheduler(connection=rt.connection, name="signoff-scheduler")
    scheduler.register(maintenance.sweep, ACTIONS_QUEUE, interval=SWEEP_EVERY_SECONDS, result_ttl=0)
    scheduler.register(maintenance.archive_history, ACTIONS_QUEUE, interval=ARCHIVE_EVERY_SECONDS, result_ttl=0)
    for func, queue, seconds in periodic or []:
        scheduler.register(func, queue, interval=seconds, result_ttl=0)
    for cron_job in scheduler.get_jobs():
        cron_job.__class__ = JsonCronJob
    return scheduler


def run_scheduler(rt: Runtime, periodic: list[Periodic] | None = None) -> None:
    scheduler = build_scheduler(rt, periodic)
    try:
        until_redis_answers("scheduler", scheduler.start, on_reconnect=scheduler.register_death)
    except StopRequested:
        # RQ's scheduler answers a stop signal from before it has registered, outside the loop that
        # catches it: a stop during start-up ends here, at once and as quietly as one at any other
        # moment (a registration half written expires with its TTL).
        return
