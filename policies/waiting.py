"""How a held action waits: deadline, fallback, reminders, escalation chain and quorum, from its rule;
and the schedule checks (business hours, freezes) that make a runnable action wait instead."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from policies.rules import Hours, Policy, Rule


class WaitLevel(BaseModel):
    """One escalation level, resolved to Slack user and group IDs."""

    users: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    after: float


class Waiting(BaseModel):
    """How an action waits for people: its deadline, what happens then, reminders, escalation, quorum."""

    deadline_at: datetime
    on_expiry: str = "expire"  # expire | reject | run
    expiry_note: str | None = None
    remind_every: float | None = None
    chain: list[WaitLevel] = Field(default_factory=list)
    level: int = 0  # the chain's current level, from 0
    escalated_because: str | None = None  # why it moved to this level, where not the last one's silence
    quorum: int = 1
    warn_before: float | None = None  # seconds before the deadline that its warning goes out
    extend_by: float | None = None  # what one Extend adds; None: it cannot be extended
    max_extensions: int = 0
    extensions: int = 0  # how many times it was extended
    confirm: str | None = None  # "typed": a yes counts once the reviewer has typed the confirmation
    min_review_seconds: float | None = None  # a yes this soon after the request was posted is refused
    allow_similar: bool = False  # the rule lets a reviewer "approve and allow similar" (an allowance)
    delegation: bool = True  # an away approver's delegate may decide for them

    def approvers_now(self) -> dict[str, list[str]]:
        """Everyone asked so far: a level that escalated may still decide."""
        asked = self.chain[: self.level + 1]
        return {"users": sorted({u for lv in asked for u in lv.users}),
                "groups": sorted({g for lv in asked for g in lv.groups})}


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def waiting_for(policy: Policy, rule: Rule, now: datetime) -> Waiting:
    chain = [WaitLevel(users=[*(level.approvers.users if level.approvers else []),
                              *([policy.oncall[level.oncall]] if level.oncall else [])],
                       groups=level.approvers.groups if level.approvers else [], after=level.after)
             for level in rule.escalation or []]
    # With a chain, the last level's silence is the deadline; without, the rule's or the policy's.
    seconds = sum(level.after for level in chain) if chain else (rule.deadline or policy.defaults.deadline)
    return Waiting(deadline_at=now + timedelta(seconds=seconds), on_expiry=rule.on_expiry or policy.defaults.on_expiry,
                   expiry_note=rule.expiry_note, remind_every=rule.remind_every, chain=chain,
                   quorum=rule.approvals, allow_similar=rule.allows_allowances and not policy.approve_everything,
                   warn_before=rule.warn_before or policy.defaults.warn_before,
                   extend_by=None if chain else rule.extend_by or policy.defaults.extend_by,
                   max_extensions=rule.max_extensions if rule.max_extensions is not None
                   else policy.defaults.max_extensions,
                   confirm=rule.confirm, min_review_seconds=rule.min_review_seconds, delegation=rule.delegation)


def _within(hours: Hours, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(hours.timezone))
    return _DAYS[local.weekday()] in hours.days and _clock(hours.start) <= local.time() < _clock(hours.end)


def _clock(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


def schedule_risks(rule: Rule, now: datetime) -> list[str]:
    """Why an action this rule would run must wait for a person at `now`: a freeze, or after hours."""
    risks = []
    for freeze in rule.freezes:
        start, end = (t if t.tzinfo else t.replace(tzinfo=UTC) for t in (freeze.start, freeze.end))
        if start <= now < end:
            risks.append(f"{freeze.reason} until {end:%Y-%m-%d %H:%M} UTC")
    hours = rule.outside_hours
    if hours is not None and not _within(hours, now):
        risks.append(f"outside business hours ({'/'.join(hours.days)} {hours.start}-{hours.end} {hours.timezone})")
    return risks
