"""The Job class a Signoff worker uses: it refuses, before importing anything, every function name
that is not one of Signoff's own jobs (see `signoff.jobs`), for the job itself and its callbacks."""

from __future__ import annotations

from typing import Any

from rq.job import Job

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
