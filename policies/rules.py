"""The policy file's shape, validated with pydantic: rules matched in order, first match wins."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from signoff.models import Mode

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def _seconds(value: Any) -> Any:
    if isinstance(value, str):
        found = _DURATION.match(value)
        if not found:
            raise ValueError(f"{value!r} is not a duration (use e.g. 90s, 15m, 2h, 1d)")
        return float(found.group(1)) * _UNIT_SECONDS[found.group(2)]
    return value


Duration = Annotated[float, BeforeValidator(_seconds), Field(gt=0)]
OneOrMany = str | list[str]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Condition(_Strict):
    """A test on one parameter; every test given must hold."""

    param: str
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    eq: Any = None
    ne: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")
    not_in: list[Any] | None = None
    domain: Literal["internal", "external"] | None = None

    @model_validator(mode="after")
    def _has_a_test(self) -> Condition:
        tests = ("gt", "ge", "lt", "le", "eq", "ne", "in_", "not_in", "domain")
        if all(getattr(self, name) is None for name in tests):
            raise ValueError(f"condition on {self.param!r} names no test (gt, ge, lt, le, eq, ne, in, "
                             "not_in, domain)")
        return self


class Match(_Strict):
    type: OneOrMany | None = None
    category: OneOrMany | None = None
    agent: OneOrMany | None = None
    when: list[Condition] = Field(default_factory=list)


class AmountCheck(_Strict):
    param: str = "amount"
    factor: float = Field(default=3.0, gt=1)
    min_history: int = Field(default=5, ge=1)


class RecipientCheck(_Strict):
    param: str = "to"


class Unusual(_Strict):
    """What makes an `escalate` action unusual, beyond the agent asking for review itself."""

    amount: AmountCheck | None = None
    new_recipient: RecipientCheck | None = None


class Approvers(_Strict):
    users: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)


class Batching(_Strict):
    """A batch is sent when it holds `max` actions or `window` after its first, whichever comes first."""

    window: Duration = 900.0
    max: int = Field(default=20, ge=1, le=500)
    group_by: list[Literal["type", "agent"]] = Field(default=["type"], min_length=1)


class Rule(_Strict):
    name: str
    match: Match = Field(default_factory=Match)
    mode: Mode
    channel: str | None = None
    approvers: Approvers | None = None
    unusual: Unusual | None = None
    batch: Batching | None = None

    @model_validator(mode="after")
    def _options_fit_the_mode(self) -> Rule:
        if self.unusual is not None and self.mode != Mode.ESCALATE:
            raise ValueError(f"rule {self.name!r}: 'unusual' applies only to mode escalate")
        if self.batch is not None and self.mode != Mode.BATCH:
            raise ValueError(f"rule {self.name!r}: 'batch' applies only to mode batch")
        if self.mode == Mode.BATCH and self.batch is None:
            self.batch = Batching()
        return self


class Runaway(_Strict):
    """A burst from one agent pauses it: its actions then wait for a person until it is resumed."""

    max_actions: int = Field(default=120, ge=1)
    window: Duration = 60.0


class Policy(_Strict):
    own_domains: list[str] = Field(default_factory=list)
    approve_everything: bool = False
    runaway: Runaway = Field(default_factory=Runaway)
    rules: list[Rule]

    @model_validator(mode="after")
    def _unique_names(self) -> Policy:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"two rules are named {rule.name!r}; names must be unique")
            seen.add(rule.name)
        return self
