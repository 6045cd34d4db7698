"""`signoff scheduler`: RQ's own cron scheduler enqueues Signoff's periodic jobs."""

from __future__ import annotations

import logging

from redis import Redis
from rq import Queue
from rq.cron import CronJob, CronScheduler
from rq.job import Job

from signoff.runtime import ACTIONS_QUEUE, JOB_SERIALIZER, SLACK_QUEUE, Runtime
from workers import digest_jobs, maintenance
from workers.resilience import until_redis_answers

SWEEP_EVERY_SECONDS = 60


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


def build_scheduler(rt: Runtime) -> CronScheduler:
    scheduler = CronScheduler(connection=rt.connection, name="signoff-scheduler")
    scheduler.register(maintenance.sweep, ACTIONS_QUEUE, interval=SWEEP_EVERY_SECONDS, result_ttl=0)
    if rt.slack_enabled:  # each team's own clock, read in its timezone, decides whether its digest is due
        scheduler.register(digest_jobs.send_due_digests, SLACK_QUEUE, interval=60)
    for cron_job in scheduler.get_jobs():
        cron_job.__class__ = JsonCronJob
    return scheduler


def run_scheduler(rt: Runtime) -> None:
    scheduler = build_scheduler(rt)
    until_redis_answers("scheduler", scheduler.start, on_reconnect=scheduler.register_death)
