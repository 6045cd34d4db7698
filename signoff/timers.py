"""The moments an action's waiting reaches: expiry and the warning before it, escalation, reminders.

Each moment is a member of one sorted set (`<kind>:<action id>`, scored by when it is due), so a
waiting action costs a few dozen bytes of timers, and the transition that ends its wait removes them
in the same script (see `signoff.store`): a decided action leaves nothing scheduled. One RQ
scheduled job per distinct second fires what is due by then; the scheduler's sweep fires anything
a lost job left behind. What each moment does is in
`signoff.deadlines`.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import cast

from policies.waiting import Waiting
from signoff.models import utcnow
from signoff.runtime import Runtime
from signoff.store import TIMERS

FIRE_JOB = "workers.deadline_jobs.fire_due"

# Removes a timer that fired, unless it was planned again meanwhile (a reminder's next time).
_FIRED = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0
"""


def _job_marker(second: int) -> str:
    return f"signoff:timers:job:{second}"


def _plan(rt: Runtime, kind: str, action_id: str, at: datetime) -> None:
    when = at.timestamp()
    second = math.ceil(when)
    rt.connection.zadd(TIMERS, {f"{kind}:{action_id}": when})
    # A thousand deadlines in one second share one scheduled job: the marker says one is coming. The
    # job clears it before it reads the timers, so a timer planned later for the same second (while
    # that job already runs) schedules a job of its own rather than being missed.
    if rt.connection.set(_job_marker(second), 1, nx=True, exat=second + 86400):
        rt.actions_queue.enqueue_at(datetime.fromtimestamp(second, UTC), FIRE_JOB, second, result_ttl=0)


def firing(rt: Runtime, second: int) -> None:
    """The job for `second` starts: timers planned for that second from now on need a job of their own."""
    rt.connection.delete(_job_marker(second))


def schedule(rt: Runtime, action_id: str, waiting: Waiting) -> None:
    """Before an action starts to wait: its first escalation or its expiry, and its first reminder.

    Scheduled first, so no one can see the action waiting without its deadline already in Redis.
    """
    now = utcnow()
    if waiting.chain:
        _plan(rt, "escalate", action_id, now + timedelta(seconds=waiting.chain[waiting.level].after))
    else:
        deadline(rt, action_id, waiting)
    if waiting.remind_every:
        _plan(rt, "remind", action_id, now + timedelta(seconds=waiting.remind_every))


def deadline(rt: Runtime, action_id: str, waiting: Waiting) -> None:
    """Its expiry, and the warning before it (planned again when the deadline moves)."""
    _plan(rt, "expire", action_id, waiting.deadline_at)
    if waiting.warn_before:
        warn_at = waiting.deadline_at - timedelta(seconds=waiting.warn_before)
        if warn_at > utcnow():
            _plan(rt, "warn", action_id, warn_at)
        else:
            rt.connection.zrem(TIMERS, f"warn:{action_id}")


def escalation(rt: Runtime, action_id: str, *, after: float) -> None:
    _plan(rt, "escalate", action_id, utcnow() + timedelta(seconds=after))


def reminder(rt: Runtime, action_id: str, at: datetime) -> None:
    _plan(rt, "remind", action_id, at)


def due(rt: Runtime, until: float, *, after: float | None = None, limit: int = 1000) -> list[tuple[str, str, float]]:
    """(kind, action id, planned time) of the timers due by `until` (and from `after` on), earliest
    first, at most `limit`."""
    rows = cast(list[tuple[bytes, float]], rt.connection.zrangebyscore(
        TIMERS, "-inf" if after is None else after, until, start=0, num=limit, withscores=True))
    found = []
    for member, score in rows:
        kind, _, action_id = member.decode().partition(":")
        found.append((kind, action_id, score))
    return found


def fired(rt: Runtime, kind: str, action_id: str, planned: float) -> None:
    rt.connection.register_script(_FIRED)(keys=[TIMERS], args=[f"{kind}:{action_id}", repr(planned)])

