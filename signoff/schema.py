"""Parameter schemas: a pydantic model from a function's signature, and back from its JSON schema.

The JSON schema is stored with each action type in Redis, so every process (worker, bot, CLI)
validates and edits parameters by the same schema without importing the agent's code.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model

from signoff.errors import InvalidParams

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

#: Parameters with this name are filled in by Signoff, never by the agent.
IDEMPOTENCY_PARAM = "idempotency_key"


def _check_email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("is not an email address")
    return value.lower()


Email = Annotated[str, AfterValidator(_check_email), Field(json_schema_extra={"format": "email"})]
"""An email address; shown as an email field in Slack's edit modal."""

LongText = Annotated[str, Field(json_schema_extra={"x-multiline": True})]
"""Free text shown as a multi-line field in Slack's edit modal."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def model_from_signature(func: Callable[..., Any], name: str) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for param in inspect.signature(func).parameters.values():
        if param.name == IDEMPOTENCY_PARAM or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = param.annotation if param.annotation is not inspect.Parameter.empty else Any
        default = param.default if param.default is not inspect.Parameter.empty else ...
        fields[param.name] = (annotation, default)
    return create_model(f"{name}_params", __base__=_Strict, **fields)


def _python_type(prop: dict[str, Any], defs: dict[str, Any]) -> Any:
    if "$ref" in prop:
        prop = {**defs[prop["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in prop.items() if k != "$ref"}}
    if "enum" in prop:
        return Literal[tuple(prop["enum"])]
    if "anyOf" in prop:
        options = [_python_type(option, defs) for option in prop["anyOf"]]
        union: Any = options[0]
        for option in options[1:]:
            union = union | option
        return union
    kind = prop.get("type")
    if kind == "string":
        return Email if prop.get("format") == "email" else str
    if kind == "array":
        return list[_python_type(prop.get("items", {}), defs)]  # type: ignore[misc]
    return {"integer": int, "number": float, "boolean": bool, "null": type(None), "object": dict}.get(
        kind or "", Any
    )


_CONSTRAINTS = {"minimum": "ge", "maximum": "le", "exclusiveMinimum": "gt", "exclusiveMaximum": "lt",
                "minLength": "min_length", "maxLength": "max_length"}


def model_from_json_schema(schema: dict[str, Any]) -> type[BaseModel]:
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    fields: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        constraints = {_CONSTRAINTS[k]: v for k, v in prop.items() if k in _CONSTRAINTS}
        default = ... if name in required else prop.get("default")
        fields[name] = (_python_type(prop, defs), Field(default, **constraints))
    return create_model(schema.get("title", "params"), __base__=_Strict, **fields)


def validate_params(model: type[BaseModel], action_type: str, params: dict[str, Any]) -> dict[str, Any]:
    """Returns the parameters as the schema makes them, or raises InvalidParams naming each problem."""
    try:
        return model.model_validate(params).model_dump(mode="json")
    except ValidationError as exc:
        raise InvalidParams(action_type, field_problems(exc), field_errors(exc)) from None


def field_problems(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in err['loc']) or 'params'}: {_message(err)}" for err in exc.errors()]


def field_errors(exc: ValidationError) -> dict[str, str]:
    """First error per top-level field: what Slack's modal shows beside each input."""
    errors: dict[str, str] = {}
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else "params"
        errors.setdefault(field, _message(err))
    return errors


def _message(err: Any) -> str:
    if err["type"] == "missing":
        return "is required"
    if err["type"] == "extra_forbidden":
        return "is not a parameter of this action"
    return str(err["msg"]).removeprefix("Value error, ")
