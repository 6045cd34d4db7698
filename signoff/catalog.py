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
    # The agent whose declaration this is: only it may change it (a worker's own definition is no one's).
    declared_by: str | None = None

    def differences(self, other: ActionType) -> list[str]:
        """The fields in which two declarations of a type differ (who published them aside)."""
        mine = self.model_dump(exclude={"source", "declared_by"})
        theirs = other.model_dump(exclude={"source", "declared_by"})
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


class NotYourType(SignoffError):
    def __init__(self, declared: ActionType, known: ActionType, by: str | None) -> None:
        super().__init__(f"action type {declared.name!r} was declared by {known.declared_by}, so {by or 'this client'} "
                         "may not change it: declare a type of your own")


class Catalog:
    def __init__(self, connection: redis.Redis) -> None:
        self.connection = connection

    def restore(self, action_type: ActionType, pipe: Pipeline | None = None) -> None:
        """Writes a client's declaration only where the type is missing (a Redis that lost it)."""
        (pipe if pipe is not None else self.connection).hsetnx(TYPES_KEY, action_type.name, action_type.serialized)

    def declare(self, action_type: ActionType, *, by: str | None = None) -> None:
        """A client's declaration, as `by` (the agent declaring it): refused (and logged) where a worker's
        own definition differs, or where another agent declared the type first."""
        raw = self.connection.hget(TYPES_KEY, action_type.name)
        if raw is not None:
            known = ActionType.model_validate_json(raw)
            if known.same_definition(action_type):
                return  # nothing changes, whoever asks
            if known.source == "worker":
                log.warning("declaration_refused", type=action_type.name, differs=known.differences(action_type))
                raise DeclarationRefused(action_type, known)
            if known.declared_by is not None and known.declared_by != by:
                log.warning("declaration_refused", type=action_type.name, owner=known.declared_by, by=by)
                raise NotYourType(action_type, known, by)
        declared = action_type.model_copy(update={"declared_by": by}) if by is not None else action_type
        self.connection.hset(TYPES_KEY, action_type.name, declared.model_dump_json())

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
