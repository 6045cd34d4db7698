"""Standing allowances in Redis: created with an approval, listed, explained, revoked, expired.

One hash holds them all (id -> JSON); there are few, and routing reads them only for an action that
would otherwise wait on a rule they may relax. Each expires by an RQ job scheduled at its expiry
time; routing also checks the time, so a late job never extends one.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import cast

from pydantic import ValidationError

from policies.allowances import Allowance, Requirement
from signoff import signing
from signoff.errors import SignoffError
from signoff.keys import PREFIX
from signoff.logging import log
from signoff.models import Action, AuditEvent, person, utcnow
from signoff.runtime import Runtime

ALLOWANCES = f"{PREFIX}:allowances"
USES = f"{PREFIX}:allowance-uses"  # id -> how many actions it let through
EXPIRE_JOB = "workers.allowance_jobs.expire_allowance"
DURATIONS = (1, 7, 30)  # days a reviewer may choose


class NoSuchAllowance(SignoffError):
    def __init__(self, allowance_id: str) -> None:
        super().__init__(f"no allowance {allowance_id!r} (it expired, was revoked, or never existed): "
                         "`signoff allow list` shows the current ones")


def expiry_job_id(allowance_id: str) -> str:
    return f"signoff-allowance-expiry-{allowance_id}"


def create(rt: Runtime, action: Action, *, by: str, days: int, requirements: list[Requirement],
           reason: str = "", now: datetime | None = None) -> Allowance:
    """An allowance for actions like `action`; refused where its rule may not be relaxed (money rules,
    quorum rules, rules that run anyway)."""
    if action.waiting is None or not action.waiting.allow_similar or action.rule is None:
        raise SignoffError(f"rule {action.rule} does not allow standing allowances: each of its actions needs "
                           "its own decision")
    if days not in DURATIONS:
        raise SignoffError(f"an allowance lasts {', '.join(map(str, DURATIONS))} days, not {days}")
    now = now or utcnow()
    allowance = _signed(rt, Allowance(
        id="al_" + secrets.token_hex(4), agent=action.agent, type=action.type, rule=action.rule,
        requirements=requirements, author=by, reason=reason, created_at=now, expires_at=now + timedelta(days=days),
        from_action=action.id))
    with rt.connection.pipeline() as pipe:
        pipe.multi()
        pipe.hset(ALLOWANCES, allowance.id, allowance.model_dump_json())
        rt.actions_queue.enqueue_at(allowance.expires_at, EXPIRE_JOB, allowance.id,
                                    job_id=expiry_job_id(allowance.id), result_ttl=0, pipeline=pipe)
        pipe.execute()
    _record(rt, allowance, "allowance_created", by,
            f"{allowance.id}: allows {allowance.describe()} until {allowance.expires_at:%Y-%m-%d %H:%M} UTC"
            + (f" — {reason}" if reason else ""))
    return allowance


def _fields(allowance: Allowance) -> dict[str, object]:
    return allowance.model_dump(mode="json", exclude={"signature"})


def _signed(rt: Runtime, allowance: Allowance) -> Allowance:
    """Signed by the process that creates it (its author, scope and expiry): Redis alone cannot make one."""
    return allowance.model_copy(update={"signature": signing.sign(rt.require_decision_key(), _fields(allowance))})


def _genuine(rt: Runtime, allowance: Allowance) -> bool:
    if signing.verifies(rt.require_decision_key(), allowance.signature, _fields(allowance)):
        return True
    log.warning("allowance_not_signed", allowance_id=allowance.id, author=allowance.author)
    return False


def verified(rt: Runtime, allowance_id: str) -> Allowance | None:
    """The allowance if it exists and its signature verifies; None otherwise (an unsigned one is logged)."""
    raw = cast(bytes | None, rt.connection.hget(ALLOWANCES, allowance_id))
    if raw is None:
        return None
    try:
        allowance = Allowance.model_validate_json(raw)
    except ValidationError:
        return None
    return allowance if _genuine(rt, allowance) else None


def _record(rt: Runtime, allowance: Allowance, step: str, by: str, note: str) -> None:
    # An allowance's events belong to the action it was created from: `signoff audit --action` tells its story.
    rt.store.annotate(allowance.from_action, event=AuditEvent(
        action_id=allowance.from_action, step=step, actor=by, type=allowance.type, rule=allowance.rule, note=note))


def every(rt: Runtime) -> list[Allowance]:
    """All allowances, unexpired or not yet removed by their expiry job, oldest first. One that cannot
    be read is left out (it lets nothing through: the actions it would have allowed wait)."""
    found = []
    for key, value in cast(dict[bytes, bytes], rt.connection.hgetall(ALLOWANCES)).items():
        try:
            found.append(Allowance.model_validate_json(value))
        except ValidationError as bad:
            log.warning("allowance_unreadable", allowance_id=key.decode(errors="replace"), error=str(bad)[:200])
    return sorted(found, key=lambda a: a.created_at)


def active(rt: Runtime, now: datetime | None = None) -> list[Allowance]:
    """The allowances routing may apply: unexpired and signed by a process that holds the key. One written
    into Redis by hand, or altered there, is ignored (and logged)."""
    now = now or utcnow()
    return [a for a in every(rt) if a.expires_at > now and _genuine(rt, a)]


def get(rt: Runtime, allowance_id: str) -> Allowance:
    raw = cast(bytes | None, rt.connection.hget(ALLOWANCES, allowance_id))
    if raw is None:
        raise NoSuchAllowance(allowance_id)
    return Allowance.model_validate_json(raw)


def uses(rt: Runtime, allowance_id: str) -> int:
    return int(cast(bytes | None, rt.connection.hget(USES, allowance_id)) or 0)


def with_uses(rt: Runtime, found: list[Allowance]) -> list[tuple[Allowance, int]]:
    """Each allowance with how many actions it let through, in one command."""
    counts = cast(list[bytes | None], rt.connection.hmget(USES, [a.id for a in found])) if found else []
    return [(a, int(n or 0)) for a, n in zip(found, counts, strict=True)]


def used(rt: Runtime, allowance: Allowance) -> None:
    rt.connection.hincrby(USES, allowance.id, 1)


def _remove(rt: Runtime, allowance_id: str, step: str, by: str, note: str) -> Allowance | None:
    raw = cast(bytes | None, rt.connection.hget(ALLOWANCES, allowance_id))
    if raw is None or not rt.connection.hdel(ALLOWANCES, allowance_id):
        return None  # removed already (revoked and expired at once): recorded once
    allowance = Allowance.model_validate_json(raw)
    rt.connection.hdel(USES, allowance_id)
    _record(rt, allowance, step, by, note)
    return allowance


def revoke(rt: Runtime, allowance_id: str, *, by: str) -> Allowance:
    removed = _remove(rt, allowance_id, "allowance_revoked", by, f"{allowance_id} revoked")
    if removed is None:
        raise NoSuchAllowance(allowance_id)
    rt.actions_queue.scheduled_job_registry.remove(expiry_job_id(allowance_id), delete_job=True)
    return removed


def expire(rt: Runtime, allowance_id: str) -> Allowance | None:
    return _remove(rt, allowance_id, "allowance_expired", "policy:allowance", f"{allowance_id} expired")


def mine(rt: Runtime, user: str) -> list[Allowance]:
    """The allowances a Slack user created."""
    return [a for a in every(rt) if person(a.author) == person(user)]
