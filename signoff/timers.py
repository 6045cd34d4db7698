"""The moments an action's waiting reaches, put on RQ's scheduler: expiry, escalation, reminders.

Scheduled in Redis, so a restart of any process loses none; what each moment does is in
`signoff.deadlines`, run by the workers' deadline jobs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from policies.waiting import Waiting
from signoff.models import utcnow
from signoff.runtime import Runtime

ESCALATE_JOB = "workers.deadline_jobs.escalate"
EXPIRE_JOB = "workers.deadline_jobs.expire"
REMIND_JOB = "workers.deadline_jobs.remind"


def _at(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def schedule(rt: Runtime, action_id: str, waiting: Waiting) -> None:
    """Before an action starts to wait: its first escalation or its expiry, and its first reminder.

    Scheduled first, so no one can see the action waiting without its deadline already in Redis.
    """
    now = utcnow()
    if waiting.chain:
        escalation(rt, action_id, level=1, after=waiting.chain[0].after)
    else:
        rt.actions_queue.enqueue_at(_at(waiting.deadline_at), EXPIRE_JOB, action_id)
    if waiting.remind_every:
        reminder(rt, action_id, now + timedelta(seconds=waiting.remind_every))


def escalation(rt: Runtime, action_id: str, *, level: int, after: float) -> None:
    rt.actions_queue.enqueue_at(_at(utcnow() + timedelta(seconds=after)), ESCALATE_JOB, action_id, level)


def reminder(rt: Runtime, action_id: str, at: datetime) -> None:
    rt.actions_queue.enqueue_at(_at(at), REMIND_JOB, action_id)
