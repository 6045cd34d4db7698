"""Waiting has an end: what happens at a deadline (and the warning before it, and extending it), an
escalation level or a reminder.

Each moment is a timer of `signoff.timers`, fired by `fire_due`. A timer that finds the action
decided, or at another level than it was planned for, does nothing.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from redis.exceptions import WatchError

from signoff import away, door, lifecycle, notify, resumption, timers
from signoff.door import DEADLINE_ACTOR
from signoff.errors import ActionNotFound, SignoffError
from signoff.keys import action_key
from signoff.models import Action, AuditEvent, Status, utcnow
from signoff.runtime import Runtime


def expire(rt: Runtime, action_id: str) -> Action | None:
    """The deadline passed: expire it (it never runs), or the rule's fallback: reject, or run."""
    action = rt.store.get(action_id)
    if action.status != Status.PENDING_APPROVAL or action.waiting is None:
        return None
    note = action.waiting.expiry_note
    # What happens now is this process's policy's to say, never the stored record's.
    on_expiry = door.required(rt, action).on_expiry
    try:
        if on_expiry == "reject":
            return lifecycle.decide(rt, action_id, "reject", by=DEADLINE_ACTOR,
                                    note=note or "nobody decided before the deadline")
        if on_expiry == "run":  # only where the rule says so explicitly
            return lifecycle.decide(rt, action_id, "approve", by=DEADLINE_ACTOR,
                                    note=note or "nobody decided before the deadline; the rule runs it")
        expired = rt.store.transition(
            action_id, Status.EXPIRED, allowed_from={Status.PENDING_APPROVAL},
            changes={"decided_by": DEADLINE_ACTOR, "decided_at": utcnow(), "note": note},
            event=AuditEvent(action_id=action_id, step="expired", actor=DEADLINE_ACTOR, note=note))
    except SignoffError:
        return None  # decided at the last moment: that decision stands
    notify.decided(rt, expired)
    resumption.settled(rt, expired)
    return expired


def escalate(rt: Runtime, action_id: str, level: int) -> Action | None:
    """Level `level - 1` did not answer in time: ask level `level`, or expire after the last level.

    The level is raised only if the action is unchanged since it was read (the per-second job and
    the sweep's catch-up may fire the same moment together): one of them asks the next level."""
    while True:
        with rt.connection.pipeline() as pipe:
            pipe.watch(action_key(action_id))
            action = rt.store.get(action_id)
            waiting = action.waiting
            if action.status != Status.PENDING_APPROVAL or waiting is None or waiting.level != level - 1:
                return None
            if level >= len(waiting.chain):
                return expire(rt, action_id)
            silent = f"level {level} did not answer within {waiting.chain[level - 1].after:g}s"
            raised = waiting.model_copy(update={"level": level, "escalated_because": None})
            # Where everyone at the level it reaches is away, the next one is asked at once.
            raised = away.past_absent_levels(raised, away.absences(rt))
            now_at = raised.chain[raised.level]
            asked = ", ".join([*now_at.users, *now_at.groups])
            because = f"; {raised.escalated_because.lower()}" if raised.escalated_because else ""
            if because:
                raised.escalated_because = f"Level {level} did not answer in time{because}"
            pipe.multi()
            rt.store.annotate(action_id, waiting=raised, approvers=raised.approvers_now(), pipe=pipe,
                              event=AuditEvent(action_id=action_id, step="escalated", actor=DEADLINE_ACTOR,
                                               note=f"{silent}{because}; now asking {asked}"))
            try:
                pipe.execute()
                break
            except WatchError:
                continue  # it changed meanwhile (the other firing, a vote, its message): read it again
    timers.escalation(rt, action_id, after=raised.chain[raised.level].after)
    escalated = rt.store.get(action_id)
    notify.escalated(rt, escalated)
    return escalated


def warn(rt: Runtime, action_id: str) -> bool:
    """Its deadline is near: a thread reply asking who may decide (and, where it may be, to extend it)."""
    action = rt.store.get(action_id)
    if action.status != Status.PENDING_APPROVAL or action.waiting is None:
        return False
    notify.warning(rt, action)
    rt.store.annotate(action_id, event=AuditEvent(
        action_id=action_id, step="warned", actor=DEADLINE_ACTOR,
        note=f"expires {action.waiting.deadline_at:%Y-%m-%d %H:%M} UTC"))
    return True


class NotExtended(SignoffError):
    pass


def extend(rt: Runtime, action_id: str, *, by: str) -> Action:
    """Moves a waiting action's deadline by its rule's `extend_by`, at most `max_extensions` times. Audited;
    the warning and expiry are planned again. `by` must be someone who may decide it (the caller checks)."""
    while True:
        with rt.connection.pipeline() as pipe:
            pipe.watch(action_key(action_id))
            action = rt.store.get(action_id)
            waiting = action.waiting
            if action.status != Status.PENDING_APPROVAL or waiting is None:
                raise NotExtended(f"action {action_id} is {action.status}: only a waiting action can be extended")
            # What the worker's policy set when it began to wait. A Redis writer could raise it, but that
            # only keeps an action waiting longer, as it could anyway: it never makes one run.
            extend_by, most = waiting.extend_by, waiting.max_extensions
            if not extend_by or waiting.chain:
                raise NotExtended(f"rule {action.rule} does not let its deadline be extended")
            if waiting.extensions >= most:
                raise NotExtended(f"action {action_id} was extended {waiting.extensions} time(s) already, the most "
                                  f"rule {action.rule} allows")
            moved = waiting.model_copy(update={
                "deadline_at": max(waiting.deadline_at, utcnow()) + timedelta(seconds=extend_by),
                "extensions": waiting.extensions + 1})
            pipe.multi()
            rt.store.annotate(action_id, waiting=moved, pipe=pipe, event=AuditEvent(
                action_id=action_id, step="extended", actor=by,
                note=f"by {extend_by / 3600:g}h to {moved.deadline_at:%Y-%m-%d %H:%M} UTC "
                     f"({moved.extensions} of {most})"))
            try:
                pipe.execute()
                break
            except WatchError:
                continue  # decided or changed meanwhile: look again
    timers.deadline(rt, action_id, moved)
    extended = rt.store.get(action_id)
    notify.updated(rt, extended)
    return extended


def remind(rt: Runtime, action_id: str) -> bool:
    """Re-notifies the approvers, and plans the next reminder if it comes before the deadline."""
    action = rt.store.get(action_id)
    waiting = action.waiting
    if action.status != Status.PENDING_APPROVAL or waiting is None or not waiting.remind_every:
        return False
    notify.reminder(rt, action)
    # Recorded: approval health counts the decisions that came only after a reminder.
    rt.store.annotate(action_id, event=AuditEvent(action_id=action_id, step="reminded", actor=DEADLINE_ACTOR))
    following = utcnow() + timedelta(seconds=waiting.remind_every)
    if following < waiting.deadline_at:
        timers.reminder(rt, action_id, following)
    return True


def fire_due(rt: Runtime, until: float) -> int:
    """Fires the timers due by `until` (epoch seconds); returns how many. A timer is removed only once
    its moment has been handled: a crash in between fires it again, and each moment is idempotent."""
    seen: set[tuple[str, str]] = set()  # a reminder planned again within `until` waits for the next call
    after: float | None = None
    while batch := timers.due(rt, until, after=after):
        fresh = [(kind, action_id, planned) for kind, action_id, planned in batch if (kind, action_id) not in seen]
        if not fresh:
            break
        for kind, action_id, planned in fresh:
            seen.add((kind, action_id))
            with contextlib.suppress(ActionNotFound):  # trimmed or never recorded: nothing waits
                _fire(rt, kind, action_id)
            timers.fired(rt, kind, action_id, planned)
        after = batch[-1][2]
    return len(seen)


def _fire(rt: Runtime, kind: str, action_id: str) -> None:
    if kind == "expire":
        expire(rt, action_id)
    elif kind == "remind":
        remind(rt, action_id)
    elif kind == "warn":
        warn(rt, action_id)
    elif kind == "escalate":
        action = rt.store.get(action_id)
        if action.waiting is not None:
            escalate(rt, action_id, action.waiting.level + 1)
