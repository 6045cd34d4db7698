"""Matching an action against the policy: first matching rule wins, and every miss has a reason.

A condition is true, false, or cannot be evaluated (the parameter is null, of a type the test
cannot compare, or not a finite number; or absent where the rule names a type or category, and so
expects it). A rule whose conditions cannot be evaluated might match or not: the engine does not
guess, it holds the action for a person and says why. A rule that names neither type nor category
applies only to actions that have the parameter it tests.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass, field
from typing import Any

from policies.rules import Condition, Match, OneOrMany, Policy, Rule
from policies.subject import Subject
from policies.vocabulary import Mode

APPROVE_EVERYTHING = Rule(name="approve_everything", mode=Mode.APPROVE)
NO_RULE = Rule(name="no matching rule (runs)", mode=Mode.AUTO)

_ORDERINGS = {"gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le}
_EQUALITIES = {"eq": operator.eq, "ne": operator.ne}
_SYMBOLS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "eq": "==", "ne": "!="}


class Unevaluable(Exception):
    """A condition that cannot be decided for this action; the message says why."""


class Absent(Unevaluable):
    """The action has no such parameter."""


@dataclass
class RuleCheck:
    rule: Rule
    matched: bool
    why: list[str] = field(default_factory=list)
    unevaluable: list[str] = field(default_factory=list)  # conditions that could not be decided


@dataclass
class Verdict:
    """The rule that applies, and `hold_because` when a condition could not be decided."""

    rule: Rule
    hold_because: str | None = None


def _listed(value: str | None, allowed: OneOrMany | None, what: str) -> str | None:
    if allowed is None:
        return None
    options = [allowed] if isinstance(allowed, str) else allowed
    if value in options:
        return None
    return f"{what} is {value!r}, rule wants {' or '.join(repr(o) for o in options)}"


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else repr(value)


def is_number(value: Any) -> bool:
    """A number a rule can compare: not a bool, not NaN or infinite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def email_domains(value: Any) -> list[str]:
    """The domains of an address or a list of addresses, lower-cased; [] when the value is not that."""
    values = value if isinstance(value, list) else [value]
    if not values or any(not isinstance(v, str) or "@" not in v for v in values):
        return []
    return sorted({v.rsplit("@", 1)[-1].lower() for v in values})


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unevaluable(f"{name} = {value!r} is not a number")
    if not is_number(value):
        raise Unevaluable(f"{name} = {value!r} is not a finite number")
    return value


def _domains(name: str, value: Any) -> list[str]:
    domains = email_domains(value)
    if not domains:
        raise Unevaluable(f"{name} = {value!r} is not an email address or a list of them")
    return domains


def _condition_miss(condition: Condition, params: dict[str, Any], own_domains: list[str]) -> str | None:
    """Why the condition is false, None if it holds; raises Unevaluable if it cannot be decided."""
    name = condition.param
    if name not in params:
        raise Absent(f"parameter {name!r} is absent")
    if params[name] is None:
        raise Unevaluable(f"parameter {name!r} is null")
    value = params[name]
    for test, compare in _ORDERINGS.items():
        expected = getattr(condition, test)
        if expected is not None and not compare(_number(name, value), expected):
            return f"{name} = {value!r}, rule wants {_SYMBOLS[test]} {_shown(expected)}"
    for test, compare in _EQUALITIES.items():
        expected = getattr(condition, test)
        if expected is not None and not compare(value, expected):
            return f"{name} = {value!r}, rule wants {_SYMBOLS[test]} {_shown(expected)}"
    if isinstance(value, dict | list) and (condition.in_ is not None or condition.not_in is not None):
        raise Unevaluable(f"{name} is a {type(value).__name__}, not one value to look up in a list")
    if condition.in_ is not None and value not in condition.in_:
        return f"{name} = {value!r} is not in {condition.in_!r}"
    if condition.not_in is not None and value in condition.not_in:
        return f"{name} = {value!r} is in {condition.not_in!r}"
    if condition.matches is not None:
        if not isinstance(value, str):
            raise Unevaluable(f"{name} = {value!r} is not text to match against {condition.matches!r}")
        if re.search(condition.matches, value) is None:
            return f"{name} does not match {condition.matches!r}"
    if condition.domain is not None:
        external = [d for d in _domains(name, value) if d not in own_domains]
        if condition.domain == "external" and not external:
            return f"{name} has no recipient outside {own_domains!r}"
        if condition.domain == "internal" and external:
            return f"{name} has a recipient outside {own_domains!r}"
    return None


def check_rule(rule: Rule, subject: Subject, own_domains: list[str]) -> RuleCheck:
    match: Match = rule.match
    misses = [miss for miss in (_listed(subject.type, match.type, "type"),
                                _listed(subject.category, match.category, "category"),
                                _listed(subject.agent, match.agent, "agent")) if miss]
    expects_params = match.type is not None or match.category is not None
    unevaluable: list[str] = []
    for condition in match.when:
        try:
            miss = _condition_miss(condition, subject.params, own_domains)
        except Absent as why:
            (unevaluable if expects_params else misses).append(str(why))
            continue
        except Unevaluable as why:
            unevaluable.append(str(why))
            continue
        if miss:
            misses.append(miss)
    if misses:  # one false criterion is enough: the rule does not match, whatever the others are
        return RuleCheck(rule, False, misses + unevaluable)
    if unevaluable:
        return RuleCheck(rule, False, [f"cannot be evaluated: {'; '.join(unevaluable)}"], unevaluable)
    return RuleCheck(rule, True, ["all criteria hold"])


def explain(policy: Policy, subject: Subject) -> list[RuleCheck]:
    """Every rule in order with whether it matches and why not; the first match is the one applied."""
    return [check_rule(rule, subject, policy.own_domains) for rule in policy.rules]


def decide(policy: Policy, subject: Subject) -> Verdict:
    """The first rule that matches; or, met first, a rule that cannot be evaluated: then hold."""
    if policy.approve_everything:
        return Verdict(APPROVE_EVERYTHING)
    for rule in policy.rules:
        check = check_rule(rule, subject, policy.own_domains)
        if check.unevaluable:
            return Verdict(rule, f"rule {rule.name} cannot be evaluated ({'; '.join(check.unevaluable)}): "
                                 "held for a person")
        if check.matched:
            return Verdict(rule)
    return Verdict(NO_RULE)


def first_match(policy: Policy, subject: Subject) -> Rule:
    return decide(policy, subject).rule
