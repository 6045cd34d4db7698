"""Where an action goes: the matched rule's mode, adjusted by what looks unusual."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from policies.allowances import Allowance, first_match
from policies.engine import decide
from policies.rules import Policy, Rule
from policies.signals import Signals
from policies.subject import Subject
from policies.vocabulary import RUNS_NOW, Mode
from policies.waiting import Waiting, schedule_risks, waiting_for


@dataclass
class Routing:
    rule: Rule
    mode: Mode
    hold: bool  # True: the action waits for a person
    risk: list[str] = field(default_factory=list)
    observations: dict[str, Any] = field(default_factory=dict)
    waiting: Waiting | None = None  # how it waits, when it does
    paused: str | None = None  # why the agent is paused, when it is: its actions wait together
    allowance: Allowance | None = None  # a reviewer's standing allowance let it run instead of waiting


#: Why an action whose rule would run it waits: the request asked for a person (the agent, or its framework).
REVIEW_ASKED = "a person's review was asked for with the request"


def route(policy: Policy, signals: Signals, subject: Subject, now: datetime | None = None,
          allowances: Callable[[], list[Allowance]] | None = None) -> Routing:
    """`allowances` reads the standing allowances; it is called only for an action that would otherwise
    wait on a rule that allowances may relax, and nothing unusual about it."""
    now = now or datetime.now(UTC)
    verdict = decide(policy, subject)
    rule = verdict.rule
    risk: list[str] = []
    observations: dict[str, Any] = {}

    burst, paused = signals.count_burst(subject.agent, policy.runaway)
    if burst > policy.runaway.max_actions and not paused:
        paused = f"{burst} actions in {policy.runaway.window:g}s (limit {policy.runaway.max_actions})"
        signals.pause(subject.agent, paused)
    if paused:
        risk.append(f"agent {subject.agent} is paused: {paused}")
    if subject.review_requested:
        risk.append(REVIEW_ASKED)
    if verdict.hold_because:
        risk.append(verdict.hold_because)
    elif rule.mode == Mode.ESCALATE and rule.unusual is not None:
        unusual, observations = signals.unusual(subject, rule.unusual)
        risk += unusual
    if rule.mode in RUNS_NOW and not verdict.hold_because:
        risk += schedule_risks(rule, now)

    hold = rule.mode not in RUNS_NOW or bool(risk)
    allowed = None
    # `approve_everything` means every action waits for a person: no allowance relaxes that.
    if hold and not risk and allowances is not None and rule.allows_allowances and not policy.approve_everything:
        # A freeze or closed hours hold what an allowance lets through, as they hold what the rule would run.
        allowed = first_match(allowances(), subject, rule.name, now)
        if allowed is not None and (closed := schedule_risks(rule, now)):
            risk += closed
            allowed = None
        hold = allowed is None
    # A rule that could not be evaluated asks for approval, whatever its own mode (a batch would wait unseen).
    mode = Mode.APPROVE if verdict.hold_because else rule.mode
    waiting = waiting_for(policy, rule, now) if hold else None
    return Routing(rule=rule, mode=mode, hold=hold, risk=risk, observations=observations, waiting=waiting,
                   paused=paused, allowance=allowed)

