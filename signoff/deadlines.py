"""Waiting has an end: deadlines, fallbacks, reminders and escalation levels, all on RQ's scheduler.

Each step is an RQ job scheduled for its moment (in Redis, so a restart loses none). A job that
finds the action decided, or at another level than it was scheduled for, does nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from signoff import lifecycle, notify
from signoff.errors import SignoffError
from signoff.lifecycle import DEADLINE_ACTOR
from signoff.models import Action, AuditEvent, Status, Waiting, utcnow
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
        rt.actions_queue.enqueue_at(_at(now + timedelta(seconds=waiting.chain[0].after)), ESCALATE_JOB, action_id, 1)
    else:
        rt.actions_queue.enqueue_at(_at(waiting.deadline_at), EXPIRE_JOB, action_id)
    if waiting.remind_every:
        rt.actions_queue.enqueue_at(_at(now + timedelta(seconds=waiting.remind_every)), REMIND_JOB, action_id)


def expire(rt: Runtime, action_id: str) -> Action | None:
    """The deadline passed: expire it (it never runs), or the rule's fallback: reject, or run."""
    action = rt.store.get(action_id)
    if action.status != Status.PENDING_APPROVAL or action.waiting is None:
        return None
    note = action.waiting.expiry_note
    try:
        if action.waiting.on_expiry == "reject":
            return lifecycle.decide(rt, action_id, "reject", by=DEADLINE_ACTOR,
                                    note=note or "nobody decided before the deadline")
        if action.waiting.on_expiry == "run":  # only where the rule says so explicitly
            return lifecycle.decide(rt, action_id, "approve", by=DEADLINE_ACTOR,
                                    note=note or "nobody decided before the deadline; the rule runs it")
        expired = rt.store.transition(
            action_id, Status.EXPIRED, allowed_from={Status.PENDING_APPROVAL},
            changes={"decided_by": DEADLINE_ACTOR, "decided_at": utcnow(), "note": note},
            event=AuditEvent(action_id=action_id, step="expired", actor=DEADLINE_ACTOR, note=note))
    except SignoffError:
        return None  # decided at the last moment: that decision stands
    lifecycle.cancel_run_job(rt, action_id)
    notify.decided(rt, expired)
    return expired


def escalate(rt: Runtime, action_id: str, level: int) -> Action | None:
    """Level `level - 1` did not answer in time: ask level `level`, or expire after the last level."""
    action = rt.store.get(action_id)
    waiting = action.waiting
    if action.status != Status.PENDING_APPROVAL or waiting is None or waiting.level != level - 1:
        return None
    if level >= len(waiting.chain):
        return expire(rt, action_id)
    raised = waiting.model_copy(update={"level": level})
    rt.store.annotate(action_id, waiting=raised, approvers=raised.approvers_now())
    asked = ", ".join([*raised.chain[level].users, *raised.chain[level].groups])
    rt.store.append_audit(AuditEvent(
        action_id=action_id, step="escalated", actor=DEADLINE_ACTOR,
        note=f"level {level} did not answer within {waiting.chain[level - 1].after:g}s; now asking {asked}"))
    rt.actions_queue.enqueue_at(_at(utcnow() + timedelta(seconds=raised.chain[level].after)), ESCALATE_JOB,
                                action_id, level + 1)
    escalated = rt.store.get(action_id)
    notify.escalated(rt, escalated)
    return escalated


def remind(rt: Runtime, action_id: str) -> bool:
    """Re-notifies the approvers, and plans the next reminder if it comes before the deadline."""
    action = rt.store.get(action_id)
    waiting = action.waiting
    if action.status != Status.PENDING_APPROVAL or waiting is None or not waiting.remind_every:
        return False
    notify.reminder(rt, action)
    following = utcnow() + timedelta(seconds=waiting.remind_every)
    if following < waiting.deadline_at:
        rt.actions_queue.enqueue_at(_at(following), REMIND_JOB, action_id)
    return True
