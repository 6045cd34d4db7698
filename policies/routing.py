"""Where an action goes: the matched rule's mode, adjusted by what looks unusual."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policies.engine import Subject, first_match
from policies.rules import Policy, Rule
from policies.signals import Signals
from signoff.models import Action, Mode

#: Modes in which the action runs without waiting for a person.
RUNS_NOW = frozenset({Mode.AUTO, Mode.POST_HOC, Mode.ESCALATE})


@dataclass
class Routing:
    rule: Rule
    mode: Mode
    hold: bool  # True: the action waits for a person
    risk: list[str] = field(default_factory=list)
    observations: dict[str, Any] = field(default_factory=dict)


def route(policy: Policy, signals: Signals, action: Action) -> Routing:
    rule = first_match(policy, Subject(action.type, action.category, action.agent, action.params))
    risk: list[str] = []
    observations: dict[str, Any] = {}

    burst, paused = signals.count_burst(action.agent, policy.runaway, action.id)
    if burst > policy.runaway.max_actions and not paused:
        paused = f"{burst} actions in {policy.runaway.window:g}s (limit {policy.runaway.max_actions})"
        signals.pause(action.agent, paused)
    if paused:
        risk.append(f"agent {action.agent} is paused: {paused}")
    if action.review_requested:
        risk.append("the agent asked for review")
    if rule.mode == Mode.ESCALATE and rule.unusual is not None:
        unusual, observations = signals.unusual(action, rule.unusual)
        risk += unusual

    hold = rule.mode not in RUNS_NOW or bool(risk)
    return Routing(rule=rule, mode=rule.mode, hold=hold, risk=risk, observations=observations)
