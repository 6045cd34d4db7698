"""Reviewers who are away: until when, and who decides for them meanwhile.

A reviewer sets themselves away (the Home tab, `/signoff away`), or an operator does (`signoff away set`).
While away, the rules that name them ask their delegate instead, or, with none, the rule's other
approvers; mentions and reminders skip them. A delegate decides with the checks of the person they stand
in for, and their signed vote says for whom (see signoff.door): the door counts it only where the rule
allows delegation (`delegation: false` keeps a rule to its own approvers).

Each record is signed by the keyed process that set it, so a writer holding only Redis credentials cannot
make anyone a delegate; one it alters or writes by hand is ignored. One hash holds them all (there are
few): reading every absence is one command.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import cast

from pydantic import BaseModel, ValidationError

from policies.waiting import Waiting, WaitLevel
from signoff import signing
from signoff.audit import encode_event
from signoff.errors import SignoffError
from signoff.keys import AUDIT_STREAM, PREFIX
from signoff.logging import log
from signoff.models import Action, AuditEvent, person, utcnow
from signoff.runtime import Runtime

AWAY = f"{PREFIX}:away"  # Slack user ID -> their signed away record (JSON)
LONGEST = timedelta(days=366)
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


class NotSet(SignoffError):
    """An away request that cannot be recorded as asked; the message says what to change, and `about`
    which part: "until" or "delegate"."""

    def __init__(self, message: str, about: str = "until") -> None:
        super().__init__(message)
        self.about = about


class Away(BaseModel):
    user: str
    until: datetime
    delegate: str | None = None
    set_by: str
    set_at: datetime
    signature: str = ""

    def describe(self) -> str:
        """"away until 2026-12-28 00:00 UTC, U0BOB decides for them"."""
        return f"away until {self.until:%Y-%m-%d %H:%M} UTC" + (
            f", {self.delegate} decides for them" if self.delegate else ", no delegate")


def _fields(record: Away) -> dict[str, object]:
    return record.model_dump(mode="json", exclude={"signature"})


def parse_until(text: str, now: datetime | None = None) -> datetime:
    """`2026-12-28` (back at the start of that day, UTC) or `2026-12-28T14:00` (UTC unless it says)."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise NotSet(f"{text!r} is not a date: write it as 2026-12-28 (back that day) or 2026-12-28T14:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _slack_user(value: str, what: str) -> str:
    who = person(value) or ""
    if not _SLACK_USER.match(who):
        raise NotSet(f"{what} {value!r} is not a Slack user ID (U…): pick them from Slack's @ menu, or give the ID",
                     "delegate" if what == "the delegate" else "until")
    return who


def set_away(rt: Runtime, user: str, until: datetime, *, delegate: str | None, by: str,
             now: datetime | None = None) -> Away:
    """Records `user` as away until `until`, with `delegate` deciding for them; replaces an earlier record."""
    now = now or utcnow()
    user = _slack_user(user, "the reviewer")
    delegate = _slack_user(delegate, "the delegate") if delegate else None
    if delegate == user:
        raise NotSet("a reviewer cannot be their own delegate: name someone else, or nobody", "delegate")
    if until <= now:
        raise NotSet(f"{until:%Y-%m-%d %H:%M} UTC has passed: give a moment in the future")
    if until - now > LONGEST:
        raise NotSet("away for more than a year: give an earlier date (it can be set again)")
    record = Away(user=user, until=until, delegate=delegate, set_by=by, set_at=now)
    record = record.model_copy(update={"signature": signing.sign(rt.require_decision_key(), _fields(record))})
    with rt.connection.pipeline() as pipe:
        pipe.multi()
        pipe.hset(AWAY, user, record.model_dump_json())
        _audit(pipe, "away_set", by, f"{user} {record.describe()}")
        pipe.execute()
    return record


def back(rt: Runtime, user: str, *, by: str) -> Away | None:
    """`user` is back: their delegate no longer decides for them. The record it ended, if there was one."""
    user = _slack_user(user, "the reviewer")
    raw = cast(bytes | None, rt.connection.hget(AWAY, user))
    if raw is None or not rt.connection.hdel(AWAY, user):
        return None
    with rt.connection.pipeline() as pipe:
        _audit(pipe, "away_ended", by, f"{user} is back")
        pipe.execute()
    return _read(raw)


def _audit(pipe: object, step: str, by: str, note: str) -> None:
    # Not about one action: the log's entry names no action, and says who changed whose absence.
    event = AuditEvent(action_id="", step=step, actor=by, note=note)
    pipe.xadd(AUDIT_STREAM, {"e": encode_event(event), "from": ""})  # type: ignore[attr-defined]


def _read(raw: bytes) -> Away | None:
    try:
        return Away.model_validate_json(raw)
    except (ValidationError, json.JSONDecodeError):
        return None


@dataclass(frozen=True)
class Absences:
    """Who is away now, as signed records say: what routing, mentions and the bot's checks read."""

    records: dict[str, Away] = field(default_factory=dict)

    def of(self, user: str | None) -> Away | None:
        return self.records.get(person(user) or "")

    def delegate_of(self, user: str) -> str | None:
        """Who decides for `user` while they are away: their delegate, unless the delegate is away too."""
        record = self.of(user)
        if record is None or record.delegate is None or self.of(record.delegate) is not None:
            return None
        return record.delegate

    def stands_in_for(self, delegate: str, approvers: Iterable[str]) -> list[str]:
        """The away approvers among `approvers` whom `delegate` decides for."""
        me = person(delegate)
        return [u for u in approvers if self.delegate_of(u) == me]

    def asked(self, users: Iterable[str], delegation: bool = True) -> list[str]:
        """Who to ask in place of `users`: each one present, and each away one's delegate (where the rule
        allows delegation). Nobody away is in it."""
        asked: list[str] = []
        for user in users:
            stand_in = user if self.of(user) is None else self.delegate_of(user) if delegation else None
            if stand_in is not None and stand_in not in asked:
                asked.append(stand_in)
        return asked


def absences(rt: Runtime, now: datetime | None = None) -> Absences:
    """Everyone away at `now` (one command), as a process with the key can verify. A record altered in
    Redis or written there by hand is ignored and logged: that person counts as present, so nobody decides
    for them."""
    now = now or utcnow()
    key = rt.decision_key
    if key is None:  # it cannot tell a signed record from a forged one: nobody decides for anyone here
        return Absences()
    found: dict[str, Away] = {}
    for user, raw in cast(dict[bytes, bytes], rt.connection.hgetall(AWAY)).items():
        record = _read(raw)
        if record is None or record.user != user.decode() or not signing.verifies(key, record.signature,
                                                                                   _fields(record)):
            log.warning("away_record_not_signed", user=user.decode(errors="replace"))
            continue
        if record.until > now:
            found[record.user] = record
    return Absences(found)


def named_approvers(action: Action) -> list[str]:
    """The people the action's rule names (by user ID, on-call included): the only ones delegation covers."""
    return (action.approvers or {}).get("users", [])


def delegation_allowed(action: Action) -> bool:
    """The rule as the worker recorded it, for the reviewer's sake: the door checks its own policy's rule."""
    return action.waiting is None or action.waiting.delegation


def of_approvers(rt: Runtime, action: Action, *, besides: str | None = None) -> Absences:
    """The absences that matter to the approvers `action` names: none to read when its rule names nobody
    (its channel's members decide), or when `besides` (the person clicking) is one of them and decides
    as themselves. Saves the read on most clicks and posts."""
    named = named_approvers(action)
    if not named or (besides is not None and besides in named):
        return Absences()
    return absences(rt)


def nobody_at(level: WaitLevel, absences: Absences, delegation: bool = True) -> bool:
    """Everyone an escalation level names is away with nobody deciding for them (a group always has someone)."""
    return not level.groups and not absences.asked(level.users, delegation)


def past_absent_levels(waiting: Waiting, absences: Absences, now: datetime | None = None) -> Waiting:
    """`waiting` with the escalation levels where everyone is away passed at once, from its current level
    on: the next level is asked instead of waiting out the silence of people who are not there. The last
    level is never passed: its message says that nobody who may decide is available."""
    level = waiting.level
    while level + 1 < len(waiting.chain) and nobody_at(waiting.chain[level], absences, waiting.delegation):
        level += 1
    if level == waiting.level:
        return waiting
    passed = f"level {waiting.level + 1}" if level == waiting.level + 1 else f"levels {waiting.level + 1}-{level}"
    now = now or utcnow()
    return waiting.model_copy(update={
        "level": level, "escalated_because": f"Everyone at {passed} is away",
        # The chain's remaining silences are what is left of the wait.
        "deadline_at": now + timedelta(seconds=sum(lv.after for lv in waiting.chain[level:]))})
