"""The Job class a Signoff worker uses: it refuses, before importing anything, every function name
that is not one of Signoff's own jobs (see `signoff.jobs`), for the job itself and its callbacks."""

from __future__ import annotations

from typing import Any

from redis.client import Pipeline
from rq.executions import ExecutionRegistry
from rq.job import Job
from rq.results import Result

from signoff.errors import SignoffError
from signoff.jobs import is_allowed

#: The jobs defined here; the composition root adds the Slack app's (bot.jobs).
JOB_MODULES = ("workers.jobs", "workers.batch_jobs", "workers.deadline_jobs", "workers.maintenance",
               "workers.run_jobs", "workers.allowance_jobs")


class RefusedJob(SignoffError):
    pass


def _checked(name: str | None) -> str | None:
    if name and not is_allowed(name):
        raise RefusedJob(f"job names {name!r}, which is not a Signoff job: refused without running it")
    return name


class SignoffJob(Job):
    @property
    def func(self) -> Any:
        _checked(self.func_name)
        return super().func

    @property
    def success_callback(self) -> Any:
        _checked(self._success_callback_name)
        return super().success_callback

    @property
    def failure_callback(self) -> Any:
        _checked(self._failure_callback_name)
        return super().failure_callback

    @property
    def stopped_callback(self) -> Any:
        _checked(self._stopped_callback_name)
        return super().stopped_callback

    def cleanup(self, ttl: int | None = None, pipeline: Pipeline | None = None, remove_from_queue: bool = True) -> None:
        """A finished job that keeps no result (all of Signoff's: the action's record is the result)
        is deleted in the worker's own success transaction.

        RQ's generic `delete` first reads the job's stored status and every execution of it, outside
        that transaction: four more round trips and a dozen commands per job, for what the worker
        removes next anyway (`cleanup_execution`: the one execution that ran)."""
        success_path = ttl == 0 and pipeline is not None and not remove_from_queue
        if not success_path or self.has_rate_limit or self.group_id:
            super().cleanup(ttl, pipeline, remove_from_queue)
            return
        assert pipeline is not None
        pipeline.delete(self.key, self.dependents_key, self.dependencies_key, Result.get_key(self.id),
                        ExecutionRegistry(job_id=self.id, connection=self.connection).key)
