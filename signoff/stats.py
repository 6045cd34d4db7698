"""Approval health: how people decide, per rule and per reviewer, read from the audit log in one pass.

"If you approve every action, approval becomes meaningless." The figures here say where that is
happening: rules whose actions are nearly always approved as they are, decisions made faster than
the message could be read ("glance approvals"), decisions that waited for a reminder, and approvals
that were later flagged or undone.

The log is read a page at a time from `since`. Only the events that matter are decoded; the rest
are recognised by their step without parsing, so a million events take seconds. Counted are the
actions held for a person within the window (an action held before it is left out, its wait unknown).
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import redis

from signoff.audit import since_id, stream_pages
from signoff.door import DEADLINE_ACTOR
from signoff.keys import AUDIT_STREAM
from signoff.models import person

GLANCE_SECONDS = 5.0  # decided faster than this: a glance, not a reading
LONG_MESSAGE = 400  # characters of parameters and reason: more than a glance can read
RUBBER_STAMP_DECISIONS = 50
RUBBER_STAMP_SHARE = 0.98
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,}")
GLANCING_REVIEWER_APPROVALS = 20  # a reviewer is judged on at least this many approvals
_DECISIONS = {b"approved": "approved", b"edited_and_approved": "edited", b"rejected": "rejected",
              b"expired": "expired"}
DECISION_STEPS = frozenset(_DECISIONS)
_NEEDED = {b"held", b"reminded", b"voted", b"flagged", *_DECISIONS}
_UNUSED = frozenset({b"started", b"succeeded", b"failed", b"retrying"})
_ENDS_WITHOUT_A_PERSON = {b"auto_approved", b"allowed", b"canceled"}
_PREFIX = b'{"action_id":"'


def percentile(values: list[float], share: float) -> float | None:
    """Nearest rank: the smallest value with at least `share` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class Outcomes:
    """How the actions held for people ended, and how long people took."""

    approved: int = 0  # as they were
    edited: int = 0
    rejected: int = 0
    expired: int = 0  # nobody decided in time (whatever the rule then did)
    times: list[float] = field(default_factory=list)  # seconds to a person's decision

    @property
    def decided(self) -> int:
        return self.approved + self.edited + self.rejected + self.expired

    @property
    def by_people(self) -> int:
        return self.approved + self.edited + self.rejected

    def record(self, step: bytes, actor: str, seconds: float) -> str:
        """Counts one decision event; returns its outcome (the deadline's decisions are expiries)."""
        outcome = "expired" if actor == DEADLINE_ACTOR else _DECISIONS[step]
        setattr(self, outcome, getattr(self, outcome) + 1)
        if outcome != "expired":
            self.times.append(seconds)
        return outcome


@dataclass
class Friction:
    """People's decisions on actions held with friction (a typed confirmation, a fresh look) or without."""

    decisions: int = 0
    glances: int = 0

    def figures(self) -> dict[str, Any]:
        return {"decisions": self.decisions, "glance": _share(self.glances, self.decisions)}


@dataclass
class RuleHealth(Outcomes):
    rule: str = ""
    requests: int = 0  # actions the rule held for a person
    glances: int = 0
    long_glances: int = 0  # glances at long messages
    after_reminder: int = 0
    without_friction: Friction = field(default_factory=Friction)  # before the rule asked for more than a click
    with_friction: Friction = field(default_factory=Friction)

    def friction_figures(self) -> dict[str, Any] | None:
        """Glance share before and after the rule asked for friction; None for a rule that never did."""
        if not self.with_friction.decisions:
            return None
        return {"before": self.without_friction.figures(), "after": self.with_friction.figures()}

    def figures(self) -> dict[str, Any]:
        return {"rule": self.rule, "requests": self.requests, "decided": self.decided,
                "approved": _share(self.approved, self.decided), "edited": _share(self.edited, self.decided),
                "rejected": _share(self.rejected, self.decided), "expired": _share(self.expired, self.decided),
                "median_seconds": median(self.times), "p90_seconds": percentile(self.times, 0.9),
                "glance": _share(self.glances, self.by_people),
                "glance_long": _share(self.long_glances, self.by_people),
                "after_reminder": _share(self.after_reminder, self.decided),
                **({"friction": found} if (found := self.friction_figures()) else {})}


@dataclass
class ReviewerHealth:
    reviewer: str
    decisions: int = 0
    approvals: int = 0
    times: list[float] = field(default_factory=list)
    glances: int = 0
    long_glance_approvals: int = 0
    regretted: set[str] = field(default_factory=set)  # their approvals later flagged or undone

    def figures(self) -> dict[str, Any]:
        return {"reviewer": self.reviewer, "decisions": self.decisions, "approvals": self.approvals,
                "median_seconds": median(self.times), "glance": _share(self.glances, self.decisions),
                "long_glance_approvals": _share(self.long_glance_approvals, self.approvals),
                "flagged_or_undone": _share(len(self.regretted), self.approvals)}


@dataclass
class Warning:
    about: str  # "rule" | "reviewer"
    name: str
    text: str
    advice: str


@dataclass
class _Held:
    at: int  # ms
    rule: str
    size: int  # the message's length: the request's parameters and reason
    reminded: bool = False
    voters: set[str] = field(default_factory=set)  # a quorum's approvals so far
    friction: bool = False  # held under a rule that asked for more than a click


@dataclass
class Health:
    since: datetime | None
    rules: dict[str, RuleHealth] = field(default_factory=dict)
    reviewers: dict[str, ReviewerHealth] = field(default_factory=dict)
    events: int = 0  # audit events read

    def warnings(self) -> list[Warning]:
        found = []
        for rule in self.rules.values():
            if rule.by_people >= RUBBER_STAMP_DECISIONS and rule.approved >= RUBBER_STAMP_SHARE * rule.by_people:
                found.append(Warning("rule", rule.rule,
                                     f"rule {rule.rule}: {rule.approved} of {rule.by_people} decisions were plain "
                                     f"approvals ({rule.approved / rule.by_people:.0%})",
                                     "asking people has stopped telling you anything here: see `signoff policy "
                                     "suggest` for a rule that batches these or lets the usual ones run"))
        for who in self.reviewers.values():
            if (who.approvals >= GLANCING_REVIEWER_APPROVALS
                    and who.long_glance_approvals > who.approvals / 2):
                found.append(Warning("reviewer", who.reviewer,
                                     f"{who.reviewer}: {who.long_glance_approvals} of {who.approvals} approvals "
                                     f"were of long messages, decided in under {GLANCE_SECONDS:g} s",
                                     "ask whether the messages show what matters first, or batch these actions "
                                     "so they are read together"))
        return found

    def figures(self) -> dict[str, Any]:
        return {"since": self.since.isoformat() if self.since else None, "events_read": self.events,
                "rules": [r.figures() for r in sorted(self.rules.values(), key=lambda r: -r.requests)],
                "reviewers": [r.figures() for r in sorted(self.reviewers.values(), key=lambda r: -r.decisions)],
                "warnings": [w.__dict__ for w in self.warnings()]}


_AFTER_ID = b'","step":"'
_ID_AT, _STEP_AT = len(_PREFIX), len(_AFTER_ID)
PAGE = 5000  # entries per XRANGE: a few MiB at most, 200 round trips per million events


def _split(e: bytes) -> tuple[bytes, bytes]:
    """(action id, step) of an event's JSON, read without decoding it: the store writes both first."""
    if e.startswith(_PREFIX):
        end = e.find(b'"', _ID_AT)
        if e[end - 1:end] != b"\\" and e[end:end + _STEP_AT] == _AFTER_ID:
            return e[_ID_AT:end], e[end + _STEP_AT:e.find(b'"', end + _STEP_AT)]
    event = json.loads(e)  # an id with an escaped quote: decode it properly
    return str(event["action_id"]).encode(), str(event["step"]).encode()


def _raw_pages(connection: redis.Redis, since: datetime | None) -> Iterator[list[list[Any]]]:
    """The audit stream's entries as Redis sends them ([id, [field, value, ...]]), a page at a time:
    redis-py's per-entry dict building is skipped, which is a third of a plain read's time."""
    raw = redis.Redis(connection_pool=connection.connection_pool)
    raw.set_response_callback("XRANGE", lambda response, **_: response)
    return cast(Iterator[list[list[Any]]], stream_pages(raw, AUDIT_STREAM, since_id(since), "+", count=PAGE))


def _ms(entry_id: bytes) -> int:
    return int(entry_id[:entry_id.index(b"-")])


def audit_steps(connection: redis.Redis, since: datetime | None) -> Iterator[tuple[int, bytes, bytes, bytes]]:
    """Each audit event from `since` as (milliseconds, action id, step, its JSON), step and id read
    without decoding the JSON."""
    for page in _raw_pages(connection, since):
        for entry_id, fields in page:
            e = fields[1]  # the store writes the event first ("e"), then the status it left ("from")
            action, step = _split(e)
            yield _ms(entry_id), action, step, e


class _Reader:
    def __init__(self, health: Health, rule: str | None) -> None:
        self.health, self.only_rule = health, rule
        self.requested: dict[bytes, int] = {}  # action id -> message length, until it is held or ends
        self.held: dict[bytes, _Held] = {}  # waiting for a person
        self.approvers: dict[bytes, str] = {}  # approved actions -> who approved (for later flags and undos)

    def rule(self, name: str) -> RuleHealth:
        return self.health.rules.setdefault(name, RuleHealth(rule=name))

    def reviewer(self, name: str) -> ReviewerHealth:
        return self.health.reviewers.setdefault(name, ReviewerHealth(name))

    def read(self, entry_id: bytes, action: bytes, step: bytes, e: bytes) -> None:
        if step == b"requested":
            self.requested[action] = len(e)
            if b'"note":"Undo of ' in e:
                self._undo(json.loads(e))
        elif step in _ENDS_WITHOUT_A_PERSON:
            self.requested.pop(action, None)
        elif step in _NEEDED:
            self._decoded(_ms(entry_id), action, step, json.loads(e))

    def _undo(self, event: dict[str, Any]) -> None:
        target = str((event.get("params_after") or {}).get("action_id", "")).encode()
        if target in self.approvers:
            self.reviewer(self.approvers[target]).regretted.add(target.decode())

    def _decoded(self, at: int, action: bytes, step: bytes, event: dict[str, Any]) -> None:
        if step == b"held":
            rule = event.get("rule") or "-"
            if self.only_rule is None or rule == self.only_rule:
                self.held[action] = _Held(at, rule, self.requested.pop(action, 0), friction=bool(event.get("friction")))
                self.rule(rule).requests += 1
            return
        if step == b"flagged":
            if action in self.approvers:
                self.reviewer(self.approvers[action]).regretted.add(action.decode())
            return
        held = self.held.get(action)
        if held is None:
            return  # held before the window (or by another rule than the one asked about)
        if step == b"reminded":
            held.reminded = True
            return
        seconds = (at - held.at) / 1000
        actor = one_person(event.get("actor", ""))
        if step == b"voted":  # one approval of a quorum: the reviewer's decision, not yet the rule's
            held.voters.add(actor)
            self._by_reviewer(actor, seconds, held, approval=True)
            return
        self.held.pop(action)
        stats = self.rule(held.rule)
        outcome = stats.record(step, actor, seconds)
        stats.after_reminder += held.reminded
        if outcome == "expired":
            return
        glance = seconds < GLANCE_SECONDS
        stats.glances += glance
        stats.long_glances += glance and held.size >= LONG_MESSAGE
        segment = stats.with_friction if held.friction else stats.without_friction
        segment.decisions += 1
        segment.glances += glance
        approval = outcome != "rejected"
        if approval:
            self.approvers[action] = actor
        if actor not in held.voters:  # a quorum's last approval was counted as that reviewer's vote
            self._by_reviewer(actor, seconds, held, approval=approval)

    def _by_reviewer(self, actor: str, seconds: float, held: _Held, approval: bool) -> None:
        who = self.reviewer(actor)
        who.decisions += 1
        who.approvals += approval
        who.times.append(seconds)
        glance = seconds < GLANCE_SECONDS
        who.glances += glance
        who.long_glance_approvals += approval and glance and held.size >= LONG_MESSAGE


def one_person(actor: str) -> str:
    """A reviewer however they were written (`U0ALICE` from the CLI, `slack:U0ALICE` from Slack): one row,
    as quorum counts them (`signoff.models.person`)."""
    who = person(actor) or actor
    return f"slack:{who}" if _SLACK_USER.fullmatch(who) else actor


def approval_health(connection: redis.Redis, since: datetime | None = None, rule: str | None = None) -> Health:
    health = Health(since=since)
    read = _Reader(health, rule).read
    for page in _raw_pages(connection, since):
        health.events += len(page)
        for entry_id, fields in page:
            e = fields[1]
            action, step = _split(e)
            if step not in _UNUSED:  # most of the log: runs starting and ending
                read(entry_id, action, step, e)
    return health
