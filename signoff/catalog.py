"""The catalogue of action types, shared through Redis so every process knows every schema."""

from __future__ import annotations

from functools import cached_property
from typing import Any, Literal, cast

import redis
from pydantic import BaseModel
from redis.client import Pipeline

from signoff.errors import SignoffError, UnknownActionType
from signoff.logging import log
from signoff.schema import model_from_json_schema, validate_params

TYPES_KEY = "signoff:types"


class ActionType(BaseModel):
    name: str
    category: str | None = None
    params_schema: dict[str, Any]
    func: str | None = None  # "module:qualname" a worker imports; None when the agent acts itself
    max_retries: int = 0
    owner: str | None = None
    undo: str | None = None  # the action type that undoes this one; it takes `action_id`
    # "worker": published by a worker from its own code, and authoritative; "client": an SDK's declaration.
    source: Literal["worker", "client"] = "client"

    def differences(self, other: ActionType) -> list[str]:
        """The fields in which two declarations of a type differ (who published them aside)."""
        mine, theirs = self.model_dump(exclude={"source"}), other.model_dump(exclude={"source"})
        return [name for name in mine if mine[name] != theirs[name]]

    def same_definition(self, other: ActionType) -> bool:
        return not self.differences(other)

    @cached_property
    def serialized(self) -> str:
        # Sent with every request by the SDK (restored where a Redis lost it): serialized once, not each time.
        return self.model_dump_json()

    @cached_property
    def params_model(self) -> type[BaseModel]:
        return model_from_json_schema(self.params_schema)

    def check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        return validate_params(self.params_model, self.name, params)


class DeclarationRefused(SignoffError):
    def __init__(self, declared: ActionType, trusted: ActionType) -> None:
        super().__init__(f"action type {declared.name!r} is registered by Signoff's workers from their own code, "
                         f"and this declaration differs in {', '.join(declared.differences(trusted))}: refused")


class Catalog:
    def __init__(self, connection: redis.Redis) -> None:
        self.connection = connection

    def restore(self, action_type: ActionType, pipe: Pipeline | None = None) -> None:
        """Writes a client's declaration only where the type is missing (a Redis that lost it)."""
        (pipe if pipe is not None else self.connection).hsetnx(TYPES_KEY, action_type.name, action_type.serialized)

    def declare(self, action_type: ActionType) -> None:
        """A client's declaration: refused (and logged) where a worker's own definition differs."""
        raw = self.connection.hget(TYPES_KEY, action_type.name)
        if raw is not None:
            known = ActionType.model_validate_json(raw)
            if known.source == "worker":
                if not known.same_definition(action_type):
                    log.warning("declaration_refused", type=action_type.name, differs=known.differences(action_type))
                    raise DeclarationRefused(action_type, known)
                return
        self.connection.hset(TYPES_KEY, action_type.name, action_type.serialized)

    def publish(self, action_types: list[ActionType]) -> None:
        """A worker's own definitions: they replace whatever a client wrote."""
        if action_types:
            self.connection.hset(TYPES_KEY, mapping={t.name: t.model_copy(update={"source": "worker"}).serialized
                                                     for t in action_types})

    def get(self, name: str) -> ActionType:
        raw = self.connection.hget(TYPES_KEY, name)
        if raw is None:
            raise UnknownActionType(name, self.names())
        return ActionType.model_validate_json(raw)

    def names(self) -> list[str]:
        return [name.decode() for name in cast(list[bytes], self.connection.hkeys(TYPES_KEY))]

    def all(self) -> list[ActionType]:
        return [ActionType.model_validate_json(raw) for raw in self.connection.hvals(TYPES_KEY)]
