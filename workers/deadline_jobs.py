"""RQ jobs for the moments an action's waiting reaches: expiry, escalation, reminders."""

from __future__ import annotations

from signoff import deadlines
from signoff.job_runtime import job_runtime
from signoff.jobs import signoff_job


@signoff_job
def expire(action_id: str) -> str | None:
    action = deadlines.expire(job_runtime(), action_id)
    return str(action.status) if action else None


@signoff_job
def escalate(action_id: str, level: int) -> int | None:
    action = deadlines.escalate(job_runtime(), action_id, level)
    return action.waiting.level if action and action.waiting else None


@signoff_job
def remind(action_id: str) -> bool:
    return deadlines.remind(job_runtime(), action_id)
