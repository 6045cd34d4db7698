"""How a held action waits: deadline, fallback, reminders, escalation chain and quorum, from its rule;
and the schedule checks (business hours, freezes) that make a runnable action wait instead."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from policies.rules import Hours, Policy, Rule
from signoff.models import Waiting, WaitLevel

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
                   quorum=rule.approvals)


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
