"""The action functions this process's own code declared: the only functions a worker ever runs.

`@signoff.action` adds each function here when its module is imported. A worker imports the
modules it is told to (`SIGNOFF_ACTIONS` or `signoff worker --actions`) and looks every action up
here by type: an import path written to Redis is never imported, so whoever can write to Redis
cannot make a worker run a function of their choosing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from signoff.catalog import ActionType
from signoff.errors import SignoffError


@dataclass(frozen=True)
class LocalAction:
    action_type: ActionType
    func: Callable[..., Any]
    params_model: type[BaseModel]  # built from the signature: the function gets its declared types back
    takes_idempotency_key: bool
    preview: Callable[..., Any] | None = None  # what it would change, without changing it (signoff.previews)


_local: dict[str, LocalAction] = {}


def add(local: LocalAction) -> None:
    known = _local.get(local.action_type.name)
    if known is not None and known.func is not local.func:
        raise SignoffError(f"two functions declare the action type {local.action_type.name!r}: "
                           f"{known.action_type.func} and {local.action_type.func}")
    _local[local.action_type.name] = local


def get(name: str) -> LocalAction | None:
    return _local.get(name)


def all_local() -> list[LocalAction]:
    return list(_local.values())


def import_action_modules(modules: Iterable[str]) -> list[str]:
    """Imports the modules that declare actions; returns the action types they added."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise SignoffError(f"cannot import action module {name!r} ({exc}); SIGNOFF_ACTIONS names the "
                               "modules that declare your actions, importable from this directory") from None
    return sorted(_local)
