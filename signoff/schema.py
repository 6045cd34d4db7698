"""Parameter schemas: a pydantic model from a function's signature, and back from its JSON schema.

The JSON schema is stored with each action type in Redis, so every process (worker, bot, CLI)
validates and edits parameters by the same schema without importing the agent's code. Whatever
the input, parameters that pass are finite, shallow enough and of their declared type: a rule
comparing `amount` with 500 never meets NaN, infinity or a string.
"""

from __future__ import annotations

import inspect
import math
import types
import typing
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
    create_model,
)

from signoff.errors import InvalidParams, SignoffError

#: Parameters with this name are filled in by Signoff, never by the agent.
IDEMPOTENCY_PARAM = "idempotency_key"
MAX_DEPTH = 32  # lists and objects inside parameters, nested
MAX_INT_BITS = 1024  # ~308 digits: past this an integer is no amount, id or count


def _check_email(value: str) -> str:
    try:
        # Syntax only (no DNS on the hot path); a newline, `<`, or a missing dot in the domain is refused.
        checked = validate_email(value, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError:
        raise ValueError("is not an email address") from None
    return checked.normalized.lower()


Email = Annotated[str, AfterValidator(_check_email), Field(json_schema_extra={"format": "email"})]
"""An email address; shown as an email field in Slack's edit modal."""

LongText = Annotated[str, Field(json_schema_extra={"x-multiline": True})]
"""Free text shown as a multi-line field in Slack's edit modal."""

# A Decimal is stored as a JSON number, so rules compare it as one; the worker hands the function a Decimal.
def _as_json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _finite_as_number(value: Decimal) -> Decimal:
    if not math.isfinite(float(value)):  # Decimal('1e400') is finite, but no JSON number holds it
        raise ValueError("is too large to be a number")
    return value


_DECIMAL = Annotated[Decimal, AfterValidator(_finite_as_number), PlainSerializer(_as_json_number, when_used="json"),
                     WithJsonSchema({"type": "number"})]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)


def _stored_as_declared(annotation: Any) -> Any:
    """The annotation with each Decimal (also inside X | None) made to store as a number."""
    if annotation is Decimal:
        return _DECIMAL
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_stored_as_declared(a) for a in typing.get_args(annotation))]  # noqa: UP007
    return annotation


def model_from_signature(func: Callable[..., Any], name: str) -> type[BaseModel]:
    try:
        # Resolves string annotations (`from __future__ import annotations`) in the function's own module.
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception as exc:  # NameError and friends: say which function, not a traceback
        raise SignoffError(f"{func.__qualname__}: cannot read its parameter types ({exc})") from None
    fields: dict[str, Any] = {}
    for param in inspect.signature(func).parameters.values():
        if param.name == IDEMPOTENCY_PARAM or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = _stored_as_declared(hints.get(param.name, Any))
        default = param.default if param.default is not inspect.Parameter.empty else ...
        fields[param.name] = (annotation, default)
    try:
        return create_model(f"{name}_params", __base__=_Strict, **fields)
    except Exception as exc:  # a type pydantic cannot validate
        raise SignoffError(f"{func.__qualname__}: its parameter types cannot be validated ({exc})") from None


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
    """The model that validates parameters against `schema`. A schema this cannot read (a client's
    declaration: properties that are not an object, an empty enum, a $ref to nowhere...) raises one
    ValueError saying so, whatever tripped on it."""
    try:
        return _model_from_json_schema(schema)
    except Exception as exc:  # untrusted input: any failure to read it is the schema's fault
        raise ValueError(f"params_schema cannot be used: {type(exc).__name__}: {exc}".splitlines()[0]) from None


def _model_from_json_schema(schema: dict[str, Any]) -> type[BaseModel]:
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    fields: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        constraints = {_CONSTRAINTS[k]: v for k, v in prop.items() if k in _CONSTRAINTS}
        default = ... if name in required else prop.get("default")
        fields[name] = (_python_type(prop, defs), Field(default, **constraints))
    # A schema that admits more than it names (a coding agent's tool input) keeps the rest as given.
    base = _Open if schema.get("additionalProperties") not in (None, False) else _Strict
    return create_model(schema.get("title", "params"), __base__=base, **fields)


def shape_problems(value: Any) -> list[str]:
    """What makes a value unsafe to validate or store: nesting past MAX_DEPTH, huge integers.

    Walked without recursion, so a 100,000-level list is a clear error, not a RecursionError.
    """
    problems: list[str] = []
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        node, path, depth = stack.pop()
        where = path or "params"
        if depth > MAX_DEPTH:
            problems.append(f"{where}: nested more than {MAX_DEPTH} levels deep")
            continue
        if isinstance(node, bool):
            continue
        if isinstance(node, int) and node.bit_length() > MAX_INT_BITS:
            problems.append(f"{where}: integer too large (more than {MAX_INT_BITS} bits)")
        elif isinstance(node, dict):
            stack += [(v, f"{path}.{k}" if path else str(k), depth + 1) for k, v in node.items()]
        elif isinstance(node, list | tuple):
            stack += [(v, f"{path}.{i}" if path else str(i), depth + 1) for i, v in enumerate(node)]
    return problems


def validate_params(model: type[BaseModel], action_type: str, params: dict[str, Any]) -> dict[str, Any]:
    """Returns the parameters as the schema makes them, or raises InvalidParams naming each problem."""
    problems = shape_problems(params)
    if problems:
        raise InvalidParams(action_type, problems[:5], {p.split(".", 1)[0].split(":", 1)[0]: p for p in problems})
    try:
        made = model.model_validate(params).model_dump(mode="json")
        # An optional field the caller left out stays out: sent on as null, a tool whose schema says
        # "a number, if given" refuses it (MCP's read_text_file and its head/tail).
        return {k: v for k, v in made.items() if k in params or v is not None}
    except ValidationError as exc:
        raise InvalidParams(action_type, field_problems(exc), field_errors(exc)) from None
    except (ValueError, RecursionError) as exc:  # e.g. a string of digits past Python's int limit
        raise InvalidParams(action_type, [f"params: {exc}"]) from None


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
