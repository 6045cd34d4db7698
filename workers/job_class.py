"""The only functions a Signoff worker runs: its own jobs, marked with `@signoff_job`.

RQ imports whatever function a job names. Anyone who can write to Redis can write a job naming
`os.system`, so Signoff's worker uses a Job class that refuses every name not on its list, for
the job itself and for its callbacks, before anything is imported.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

from rq.job import Job

from signoff.errors import SignoffError

F = TypeVar("F", bound=Callable[..., Any])

#: Every module that defines Signoff jobs; the worker imports them all before taking a job.
JOB_MODULES = ("workers.jobs", "workers.slack_jobs", "workers.batch_jobs", "workers.deadline_jobs",
               "workers.digest_jobs", "workers.maintenance")
_allowed: set[str] = set()


def signoff_job(func: F) -> F:
    """Marks a function as one a Signoff worker may run (or call back) for a job."""
    _allowed.add(f"{func.__module__}.{func.__qualname__}")
    return func


def load_job_modules() -> frozenset[str]:
    for name in JOB_MODULES:
        importlib.import_module(name)
    return frozenset(_allowed)


class RefusedJob(SignoffError):
    pass


def _checked(name: str | None) -> str | None:
    if name and name not in _allowed:
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
