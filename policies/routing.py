"""Where an action goes: the matched rule's mode, adjusted by what looks unusual."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from policies.engine import Subject, first_match
from policies.rules import Policy, Rule
from policies.signals import Signals
from policies.waiting import schedule_risks, waiting_for
from signoff.models import Action, Mode, Waiting

#: Modes in which the action runs without waiting for a person.
RUNS_NOW = frozenset({Mode.AUTO, Mode.POST_HOC, Mode.ESCALATE})


@dataclass
class Routing:
    rule: Rule
    mode: Mode
    hold: bool  # True: the action waits for a person
    risk: list[str] = field(default_factory=list)
    observations: dict[str, Any] = field(default_factory=dict)
    waiting: Waiting | None = None  # how it waits, when it does


def route(policy: Policy, signals: Signals, action: Action, now: datetime | None = None) -> Routing:
    now = now or datetime.now(UTC)
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
    if rule.mode in RUNS_NOW:
        risk += schedule_risks(rule, now)

    hold = rule.mode not in RUNS_NOW or bool(risk)
    waiting = waiting_for(policy, rule, now) if hold else None
    return Routing(rule=rule, mode=rule.mode, hold=hold, risk=risk, observations=observations, waiting=waiting)
