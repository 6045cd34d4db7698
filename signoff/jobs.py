"""Which functions a Signoff worker may run for a job: Signoff's own, each marked with `@signoff_job`.

RQ imports whatever function a job names, and anyone who can write to Redis can write a job naming
`os.system`. The marks live in the core so that the workers' jobs and the Slack app's jobs can both
be marked without importing each other; the worker's Job class refuses every other name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from rq import get_current_job

F = TypeVar("F", bound=Callable[..., Any])

_allowed: dict[str, Callable[..., Any]] = {}


def signoff_job(func: F) -> F:
    """Marks a function as one a Signoff worker may run (or call back) for a job."""
    _allowed[f"{func.__module__}.{func.__qualname__}"] = func
    return func


def is_allowed(name: str) -> bool:
    return name in _allowed


def callable_here(name: str) -> Callable[..., Any] | None:
    """The job's function, where this process may call it at once instead of queueing a job for it:
    inside a worker's job (which gives it its runtime), with the job's module loaded."""
    func = _allowed.get(name)
    return func if func is not None and get_current_job() is not None else None


def load(modules: Iterable[str]) -> frozenset[str]:
    """Imports the modules that define jobs, so their marks are known before a job is taken."""
    for name in modules:
        importlib.import_module(name)
    return frozenset(_allowed)
