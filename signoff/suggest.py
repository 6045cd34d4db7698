"""Policy suggestions from the audit log: where people's yeses could become rules, as a reviewable diff.

Never applied: `signoff policy suggest` prints a diff against the policy file, each new rule with its
evidence above it, and `--write FILE` writes the suggested file for a person to read and commit.

- always approved as asked (no edit, no rejection), recipients in one domain -> that domain runs (auto);
- always approved as asked, with an amount -> runs unless the amount is unusual (escalate), up to
  the largest amount approved;
- held often and decided at a glance (median under 5 s), rarely rejected -> one decision an hour (batch).
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis

from policies.editing import insert_before
from policies.engine import email_domains, is_number
from policies.loader import parse_policy
from policies.rules import Policy, Rule
from policies.vocabulary import Mode
from signoff.stats import DECISION_STEPS, GLANCE_SECONDS, Outcomes, audit_steps, median

EVIDENCE_NEEDED = 20  # decisions before a group's history says anything
BATCH_EVIDENCE = 50
BATCH_MAX_REJECTED = 0.02


@dataclass
class Group(Outcomes):
    """The actions one rule held for one agent and type."""

    rule: str = ""
    type: str = ""
    agent: str = ""
    domains: dict[str, set[str]] = field(default_factory=dict)  # address parameters -> domains seen
    largest: dict[str, float] = field(default_factory=dict)  # number parameters -> largest approved


@dataclass
class Suggestion:
    group: Group
    rule: dict[str, Any]  # the new rule, as YAML would hold it
    evidence: str


def _groups(connection: redis.Redis, since: datetime | None) -> list[Group]:
    requests: dict[bytes, tuple[str, str, dict[str, Any]]] = {}  # id -> type, agent, parameters
    held: dict[bytes, tuple[int, Group, dict[str, Any]]] = {}
    groups: dict[tuple[str, str, str], Group] = {}
    for at, action, step, e in audit_steps(connection, since):
        if step == b"requested":
            event = json.loads(e)
            requests[action] = (event.get("type") or "", event["actor"].removeprefix("agent:"),
                                event.get("params_after") or {})
        elif step == b"held" and action in requests:
            kind, agent, params = requests.pop(action)
            rule = json.loads(e).get("rule") or "-"
            group = groups.setdefault((rule, kind, agent), Group(rule=rule, type=kind, agent=agent))
            held[action] = (at, group, params)
        elif step in DECISION_STEPS and action in held:
            started, group, params = held.pop(action)
            if group.record(step, json.loads(e).get("actor", ""), (at - started) / 1000) == "approved":
                _remember_values(group, params)
        elif step in (b"auto_approved", b"allowed", b"canceled"):
            requests.pop(action, None)
    return list(groups.values())


def _remember_values(group: Group, params: dict[str, Any]) -> None:
    for name, value in params.items():
        domains = email_domains(value)
        if domains:
            # A list of recipients is never suggested on: a `matches` test cannot be evaluated on a list.
            seen = group.domains.setdefault(name, set())
            seen.update(domains if isinstance(value, str) else [*domains, "(a list)"])
        elif is_number(value):
            group.largest[name] = max(group.largest.get(name, value), value)


def _name(*parts: str) -> str:
    return "suggested-" + "-".join(re.sub(r"[^A-Za-z0-9_.-]+", "-", p).strip("-") for p in parts if p)


def _suggest(group: Group, rule: Rule, window: str) -> Suggestion | None:
    if rule.approvals > 1 or rule.mode not in (Mode.APPROVE, Mode.BATCH):
        return None  # a quorum is asked for on purpose; a rule that runs actions needs nothing
    base: dict[str, Any] = {"type": group.type, "agent": group.agent}
    seconds = median(group.times)
    plain = group.by_people >= EVIDENCE_NEEDED and not group.edited and not group.rejected
    counts = f"{group.approved} approved, {group.edited} edited, {group.rejected} rejected in {window}"
    amount = "amount" if "amount" in group.largest else None
    domain = next(((p, d) for p, d in group.domains.items() if len(d) == 1), None)
    if plain and amount is not None:
        ceiling = group.largest[amount]
        return Suggestion(group, {"name": _name(group.type, group.agent, f"upto-{ceiling:g}"),
                                  "match": {**base, "when": [{"param": amount, "le": ceiling}]},
                                  "mode": "escalate", "unusual": {"amount": {"param": amount}}},
                          f"`{group.type}` {amount} ≤ {ceiling:g} from `{group.agent}`: {counts} → escalate with "
                          f"an {amount} outlier check")
    if plain and domain is not None and not rule.no_allowances:
        param, (only,) = domain[0], tuple(domain[1])
        return Suggestion(group, {"name": _name(group.type, group.agent, only),
                                  "match": {**base, "when": [{"param": param, "matches": f"@{re.escape(only)}$"}]},
                                  "mode": "auto"},
                          f"`{group.type}` to `@{only}` from `{group.agent}`: {counts} → auto")
    rejected_share = group.rejected / group.by_people if group.by_people else 1.0
    if (rule.mode != Mode.BATCH and group.by_people >= BATCH_EVIDENCE and seconds is not None
            and seconds < GLANCE_SECONDS and rejected_share < BATCH_MAX_REJECTED):
        return Suggestion(group, {"name": _name(group.type, group.agent, "batched"), "match": base,
                                  "mode": "batch", "batch": {"window": "1h"}},
                          f"`{group.type}` from `{group.agent}` held {group.decided} times, approved in a median "
                          f"{seconds:g} s ({counts}) → batch, window 1h")
    return None


def suggestions(connection: redis.Redis, policy: Policy, since: datetime | None, window: str) -> list[Suggestion]:
    rules = {r.name: r for r in policy.rules}
    found = [s for g in _groups(connection, since) if g.rule in rules
             and (s := _suggest(g, rules[g.rule], window)) is not None]
    return sorted(found, key=lambda s: (s.group.rule, -s.group.decided, s.group.type, s.group.agent))


def suggested_text(text: str, found: list[Suggestion], source: str) -> str:
    """The policy file with each suggestion inserted before the rule that held its actions; checked."""
    for suggestion in found:
        text = insert_before(text, suggestion.group.rule, suggestion.rule,
                             [f"Suggested: {suggestion.evidence}"])
    parse_policy(text, f"{source} (suggested)")  # what is suggested is a valid policy, or nothing is
    return text


def diff(before: str, after: str, source: str) -> str:
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile=source, tofile=f"{source} (suggested)"))

