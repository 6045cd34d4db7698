"""Daily digests: what ran without a person's approval since the team's last digest.

The store appends one small entry to the unattended feed (a stream) when an action that no person
approved has run (see `signoff.store`). Each team keeps a cursor, the id of the last feed entry its
digest covered. A digest covers the entries after the cursor up to the newest at the time it is
built, and moves the cursor only once it has been posted: nothing is missed or shown twice, whatever
restarts in between.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

import redis

from policies.teams import Team
from signoff.models import Action, Status
from signoff.store import UNATTENDED_FEED, ActionStore

SHOWN = 30  # items a digest message shows in full
PAGE = 1000

_MOVE_CURSOR = """
local current = redis.call('GET', KEYS[1]) or ''
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
"""


def cursor_key(team: str) -> str:
    return f"signoff:digest:{team}:cursor"


def sent_key(team: str, local_date: str) -> str:
    return f"signoff:digest:{team}:sent:{local_date}"


@dataclass(frozen=True)
class Entry:
    """One action that ran without a person's approval, as the unattended feed recorded it."""

    action_id: str
    agent: str
    type: str
    rule: str | None
    status: str
    unusual: bool
    created: float

    @property
    def rank(self) -> tuple[int, float]:
        """Failures first, then what is unusual or waits for review, then the rest, newest first."""
        return (0 if self.status == Status.FAILED else 1 if self.unusual else 2, -self.created)


@dataclass
class Digest:
    team: Team
    since: str  # feed id the digest starts after ("" for the beginning)
    until: str  # the newest feed id it covers
    entries: list[Entry] = field(default_factory=list)  # every item, ordered (see Entry.rank)
    shown: list[Action] = field(default_factory=list)  # the first of them, read in full

    @property
    def count(self) -> int:
        return len(self.entries)

    @property
    def failed(self) -> int:
        return sum(1 for e in self.entries if e.status == Status.FAILED)

    @property
    def per_agent_and_type(self) -> Counter[tuple[str, str]]:
        return Counter((e.agent, e.type) for e in self.entries)


def _watched(team: Team, entry: Entry) -> bool:
    rules_ok = team.watch.rules is None or entry.rule in team.watch.rules
    agents_ok = team.watch.agents is None or entry.agent in team.watch.agents
    return rules_ok and agents_ok


def _entries(connection: redis.Redis, after: str, until: str) -> Iterator[Entry]:
    start = f"({after}" if after else "-"
    while until:
        page = cast(list[tuple[bytes, dict[bytes, bytes]]],
                    connection.xrange(UNATTENDED_FEED, min=start, max=until, count=PAGE))
        for _, f in page:
            yield Entry(action_id=f[b"i"].decode(), agent=f[b"a"].decode(), type=f[b"t"].decode(),
                        rule=f[b"r"].decode() or None, status=f[b"s"].decode(), unusual=f[b"u"] == b"1",
                        created=float(f[b"c"]))
        if len(page) < PAGE:
            return
        start = "(" + page[-1][0].decode()


def build(connection: redis.Redis, team: Team, show: int | None = SHOWN) -> Digest:
    """The team's digest: every item counted from the compact feed, only the first `show` (None:
    all) read in full, so a digest of 100,000 items costs what it shows plus one small entry each."""
    since = (cast(bytes | None, connection.get(cursor_key(team.name))) or b"").decode()
    newest = cast(list[tuple[bytes, dict[bytes, bytes]]], connection.xrevrange(UNATTENDED_FEED, count=1))
    until = newest[0][0].decode() if newest else since
    entries = sorted((e for e in _entries(connection, since, until) if _watched(team, e)), key=lambda e: e.rank)
    first = entries if show is None else entries[:show]
    shown = ActionStore(connection).get_many([e.action_id for e in first])
    return Digest(team=team, since=since, until=until, entries=entries, shown=shown)


def mark_posted(connection: redis.Redis, digest: Digest) -> bool:
    """Moves the team's cursor past the digest, unless another digest moved it first."""
    move = connection.register_script(_MOVE_CURSOR)
    return bool(move(keys=[cursor_key(digest.team.name)], args=[digest.since, digest.until]))


def claim(connection: redis.Redis, team: Team, now: datetime) -> str | None:
    """The local date to send for, if the team's digest is due and nobody has claimed it; else None."""
    local_date = team.local_date_due(now)
    if local_date is None:
        return None
    claimed = connection.set(sent_key(team.name, local_date), now.isoformat(), nx=True, ex=4 * 86400)
    return local_date if claimed else None


def release(connection: redis.Redis, team: Team, local_date: str) -> None:
    """Posting failed: let the next run try again for the same day."""
    connection.delete(sent_key(team.name, local_date))
