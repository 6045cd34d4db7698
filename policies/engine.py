"""Matching an action against the policy: first matching rule wins, and every miss has a reason."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any

from policies.rules import Condition, Match, OneOrMany, Policy, Rule
from signoff.models import Mode

APPROVE_EVERYTHING = Rule(name="approve_everything", mode=Mode.APPROVE)
NO_RULE = Rule(name="no matching rule (runs)", mode=Mode.AUTO)

_COMPARISONS = {"gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le,
                "eq": operator.eq, "ne": operator.ne}
_SYMBOLS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "eq": "==", "ne": "!="}


@dataclass
class Subject:
    """What a rule looks at: the action's type, category, agent and parameters."""

    type: str
    category: str | None
    agent: str
    params: dict[str, Any]


@dataclass
class RuleCheck:
    rule: Rule
    matched: bool
    why: list[str] = field(default_factory=list)


def _listed(value: str | None, allowed: OneOrMany | None, what: str) -> str | None:
    if allowed is None:
        return None
    options = [allowed] if isinstance(allowed, str) else allowed
    if value in options:
        return None
    return f"{what} is {value!r}, rule wants {' or '.join(repr(o) for o in options)}"


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else repr(value)


def _domains(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [str(v).rsplit("@", 1)[-1].lower() for v in values if "@" in str(v)]


def _condition_miss(condition: Condition, params: dict[str, Any], own_domains: list[str]) -> str | None:
    name = condition.param
    if name not in params:
        return f"parameter {name!r} is absent"
    value = params[name]
    for test, compare in _COMPARISONS.items():
        expected = getattr(condition, test)
        if expected is None:
            continue
        try:
            holds = compare(value, expected)
        except TypeError:
            holds = False
        if not holds:
            return f"{name} = {value!r}, rule wants {_SYMBOLS[test]} {_shown(expected)}"
    if condition.in_ is not None and value not in condition.in_:
        return f"{name} = {value!r} is not in {condition.in_!r}"
    if condition.not_in is not None and value in condition.not_in:
        return f"{name} = {value!r} is in {condition.not_in!r}"
    if condition.domain is not None:
        domains = _domains(value)
        external = [d for d in domains if d not in own_domains]
        if condition.domain == "external" and not external:
            return f"{name} has no recipient outside {own_domains!r}"
        if condition.domain == "internal" and (external or not domains):
            return f"{name} has a recipient outside {own_domains!r}"
    return None


def match_misses(match: Match, subject: Subject, own_domains: list[str]) -> list[str]:
    misses = [
        miss
        for miss in (
            _listed(subject.type, match.type, "type"),
            _listed(subject.category, match.category, "category"),
            _listed(subject.agent, match.agent, "agent"),
        )
        if miss
    ]
    misses += [m for c in match.when if (m := _condition_miss(c, subject.params, own_domains))]
    return misses


def explain(policy: Policy, subject: Subject) -> list[RuleCheck]:
    """Every rule in order with whether it matches and why not; the first match is the one applied."""
    checks = []
    for rule in policy.rules:
        misses = match_misses(rule.match, subject, policy.own_domains)
        checks.append(RuleCheck(rule, not misses, misses or ["all criteria hold"]))
    return checks


def first_match(policy: Policy, subject: Subject) -> Rule:
    if policy.approve_everything:
        return APPROVE_EVERYTHING
    for rule in policy.rules:
        if not match_misses(rule.match, subject, policy.own_domains):
            return rule
    return NO_RULE
