"""The policy file's shape, validated with pydantic: rules matched in order, first match wins."""

from __future__ import annotations

import difflib
import re
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from policies.vocabulary import CATEGORIES, Mode

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def _seconds(value: Any) -> Any:
    if isinstance(value, str):
        found = _DURATION.match(value)
        if not found:
            raise ValueError(f"{value!r} is not a duration (use e.g. 90s, 15m, 2h, 1d)")
        return float(found.group(1)) * _UNIT_SECONDS[found.group(2)]
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a timezone (use a name like Europe/Berlin)") from None
    return value


def nearest(word: str, known: list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


Duration = Annotated[float, BeforeValidator(_seconds), Field(gt=0)]
OneOrMany = str | list[str]
Timezone = Annotated[str, AfterValidator(_timezone)]
# Slack IDs: people are U… or W… (Enterprise Grid), user groups S…; a name or an email never matches.
SlackUser = Annotated[str, Field(pattern=r"^[UW][A-Z0-9]{2,}$")]
SlackGroup = Annotated[str, Field(pattern=r"^S[A-Z0-9]{2,}$")]


def _options(value: OneOrMany | None) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


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
    matches: str | None = None  # a regular expression searched in the text (e.g. a shell command)

    @model_validator(mode="after")
    def _has_a_test(self) -> Condition:
        tests = ("gt", "ge", "lt", "le", "eq", "ne", "in_", "not_in", "domain", "matches")
        if all(getattr(self, name) is None for name in tests):
            raise ValueError(f"condition on {self.param!r} names no test (gt, ge, lt, le, eq, ne, in, "
                             "not_in, domain, matches)")
        if self.matches is not None:
            try:
                re.compile(self.matches)
            except re.error as bad:
                raise ValueError(f"condition on {self.param!r}: {self.matches!r} is not a regular expression "
                                 f"({bad})") from None
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
    users: list[SlackUser] = Field(default_factory=list)
    groups: list[SlackGroup] = Field(default_factory=list)


class Batching(_Strict):
    """A batch is sent when it holds `max` actions or `window` after its first, whichever comes first."""

    window: Duration = 900.0
    max: int = Field(default=20, ge=1, le=500)
    group_by: list[Literal["type", "agent"]] = Field(default=["type"], min_length=1)


class Level(_Strict):
    """One step of an escalation chain: who is asked, and for how long before the next step is."""

    approvers: Approvers | None = None
    oncall: str | None = None  # a name from the policy's `oncall` table
    after: Duration


class Hours(_Strict):
    """Business hours: outside them, actions this rule would run wait for a person instead."""

    timezone: Timezone = "UTC"
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default=["mon", "tue", "wed", "thu", "fri"], min_length=1)
    start: str = "09:00"
    end: str = "18:00"


class Freeze(_Strict):
    """A change freeze: during it, actions this rule would run wait for a person instead."""

    start: datetime
    end: datetime
    reason: str = "change freeze"


class Rule(_Strict):
    name: str
    match: Match = Field(default_factory=Match)
    mode: Mode
    channel: str | None = None
    approvers: Approvers | None = None
    unusual: Unusual | None = None
    batch: Batching | None = None
    # Waiting for people: how long, what then, reminders, escalation, how many approvals.
    deadline: Duration | None = None
    on_expiry: Literal["expire", "reject", "run"] | None = None
    expiry_note: str | None = None
    remind_every: Duration | None = None
    # Before it lapses: a warning this long before the deadline; reviewers may Extend it by `extend_by`,
    # at most `max_extensions` times.
    warn_before: Duration | None = None
    extend_by: Duration | None = None
    max_extensions: int | None = Field(default=None, ge=0, le=20)
    escalation: list[Level] | None = Field(default=None, min_length=1)
    approvals: int = Field(default=1, ge=1, le=10)
    # Reviewers may not relax this rule with "Approve and allow similar" (see policies.allowances).
    no_allowances: bool = False
    # A coding agent's hook answers `allow` for what this rule lets run, skipping the agent's own permission
    # prompt; by default it answers nothing, so the agent's own rules still apply (see signoff_app.hook).
    allow_outright: bool = False
    # Friction that grows with the stakes: the reviewer types the amount (or the recipient's domain)
    # before a yes counts; a yes given within `min_review_seconds` of the request's posting is refused.
    confirm: Literal["typed"] | None = None
    min_review_seconds: int | None = Field(default=None, ge=1, le=3600)
    # While an approver it names is away, their delegate may decide for them; `false` keeps it to the
    # approvers themselves (money rules, say): the others are asked instead.
    delegation: bool = True
    outside_hours: Hours | None = None
    freezes: list[Freeze] = Field(default_factory=list)

    @model_validator(mode="after")
    def _options_fit_the_mode(self) -> Rule:
        if self.unusual is not None and self.mode != Mode.ESCALATE:
            raise ValueError(f"rule {self.name!r}: 'unusual' applies only to mode escalate")
        if self.batch is not None and self.mode != Mode.BATCH:
            raise ValueError(f"rule {self.name!r}: 'batch' applies only to mode batch")
        if self.mode == Mode.BATCH and self.batch is None:
            self.batch = Batching()
        return self

    @property
    def allows_allowances(self) -> bool:
        """Whether a reviewer's standing allowance may let this rule's actions through: only a rule that
        holds actions for one person's yes, and does not forbid it."""
        return (self.mode in (Mode.APPROVE, Mode.BATCH) and self.approvals == 1 and not self.no_allowances
                and self.confirm is None)  # an allowance would let similar ones through with no one typing


class Runaway(_Strict):
    """A burst from one agent pauses it: its actions then wait for a person until it is resumed."""

    max_actions: int = Field(default=120, ge=1)
    window: Duration = 60.0


class Defaults(_Strict):
    """What every rule that waits for a person gets unless it says otherwise."""

    deadline: Duration = 86400.0
    on_expiry: Literal["expire", "reject", "run"] = "expire"
    warn_before: Duration | None = None
    extend_by: Duration | None = None
    max_extensions: int = Field(default=2, ge=0, le=20)


class Policy(_Strict):
    own_domains: list[str] = Field(default_factory=list)
    defaults: Defaults = Field(default_factory=Defaults)
    oncall: dict[str, SlackUser] = Field(default_factory=dict)  # name -> Slack user ID of who is on call
    admins: list[SlackUser] = Field(default_factory=list)  # who sees approval-health warnings on their Home tab
    approve_everything: bool = False
    # Categories of your own, beside Signoff's (policies.vocabulary.CATEGORIES).
    categories: list[str] = Field(default_factory=list)
    # A policy where nothing ever waits for a person must say so: it is almost always a mistake.
    allow_no_approval: bool = False
    runaway: Runaway = Field(default_factory=Runaway)
    rules: list[Rule]

    @model_validator(mode="after")
    def _unique_names(self) -> Policy:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"two rules are named {rule.name!r}; names must be unique")
            seen.add(rule.name)
            for level in rule.escalation or []:
                if level.oncall is not None and level.oncall not in self.oncall:
                    raise ValueError(f"rule {rule.name!r}: on-call {level.oncall!r} is not in the oncall table")
        return self

    @model_validator(mode="after")
    def _can_hold_and_every_rule_can_match(self) -> Policy:
        known = sorted({*CATEGORIES, *self.categories})
        for rule in self.rules:
            for category in _options(rule.match.category):
                if category not in known:
                    raise ValueError(f"rule {rule.name!r}: unknown category {category!r}{nearest(category, known)} "
                                     "(declare your own under `categories:`)")
        for index, rule in enumerate(self.rules):
            catch_all = next((r for r in self.rules[:index] if r.match == Match()), None)
            if catch_all is not None:
                raise ValueError(f"rule {rule.name!r} can never match: rule {catch_all.name!r} before it "
                                 "matches every action")
        holds = self.approve_everything or any(
            r.mode in (Mode.APPROVE, Mode.BATCH, Mode.ESCALATE) or r.freezes or r.outside_hours for r in self.rules)
        if not holds and not self.allow_no_approval:
            raise ValueError("no rule ever asks a person (approve, batch, escalate, hours or freezes): every action "
                             "would run "
                             "unreviewed. Add such a rule, or say `allow_no_approval: true` if that is intended")
        return self

    def unknown_types(self, known: list[str]) -> list[str]:
        """Warnings for rules that name action types nobody registered (a typo lets actions through)."""
        return [f"rule {rule.name!r}: no registered action type is called {name!r}{nearest(name, known)}"
                for rule in self.rules for name in _options(rule.match.type) if name not in known]
