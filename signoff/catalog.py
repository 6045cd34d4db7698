"""The catalogue of action types, shared through Redis so every process knows every schema."""

from __future__ import annotations

from functools import cached_property
from typing import Any, cast

import redis
from pydantic import BaseModel
from redis.client import Pipeline

from signoff.errors import UnknownActionType
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

    @cached_property
    def serialized(self) -> str:
        # Written on every request by the SDK (the catalogue must survive a Redis that lost it): once is enough.
        return self.model_dump_json()

    @cached_property
    def params_model(self) -> type[BaseModel]:
        return model_from_json_schema(self.params_schema)

    def check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        return validate_params(self.params_model, self.name, params)


class Catalog:
    def __init__(self, connection: redis.Redis) -> None:
        self.connection = connection

    def register(self, action_type: ActionType, pipe: Pipeline | None = None) -> None:
        (pipe if pipe is not None else self.connection).hset(TYPES_KEY, action_type.name, action_type.serialized)

    def get(self, name: str) -> ActionType:
        raw = self.connection.hget(TYPES_KEY, name)
        if raw is None:
            raise UnknownActionType(name, self.names())
        return ActionType.model_validate_json(raw)

    def names(self) -> list[str]:
        return [name.decode() for name in cast(list[bytes], self.connection.hkeys(TYPES_KEY))]

    def all(self) -> list[ActionType]:
        return [ActionType.model_validate_json(raw) for raw in self.connection.hvals(TYPES_KEY)]
