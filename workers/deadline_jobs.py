"""The RQ job that fires an action's due moments: expiry, escalation, reminders (see signoff.timers)."""

from __future__ import annotations

from signoff import deadlines, timers
from signoff.job_runtime import job_runtime
from signoff.jobs import signoff_job


@signoff_job
def fire_due(until: float) -> int:
    """Scheduled for second `until`: fires every timer due by then."""
    rt = job_runtime()
    timers.firing(rt, int(until))
    return deadlines.fire_due(rt, until)
