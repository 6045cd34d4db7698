"""Daily digests: what ran without a person's approval since the team's last digest.

The store appends one small entry to the unattended feed (a stream) when an action that no person
approved has run (see `signoff.store`). Each team keeps a cursor, the id of the last feed entry its
digest covered. A digest covers the entries after the cursor up to the newest at the time it is
built, and moves the cursor only once it has been posted: nothing is missed or shown twice, whatever
restarts in between.
"""

from __future__ import annotations

import heapq
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

import redis

from policies.teams import Team
from signoff.audit import stream_pages
from signoff.models import Action
from signoff.store import UNATTENDED_FEED, ActionStore

SHOWN = 30  # items a digest message shows in full

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


@dataclass
class Digest:
    team: Team
    since: str  # feed id the digest starts after ("" for the beginning)
    until: str  # the newest feed id it covers
    count: int = 0
    failed: int = 0
    per_agent_and_type: Counter[tuple[str, str]] = field(default_factory=Counter)
    allowed: Counter[str] = field(default_factory=Counter)  # author -> actions their allowances let through
    item_ids: list[str] = field(default_factory=list)  # ordered: all of them, or the first `show`
    shown: list[Action] = field(default_factory=list)  # those, read in full


def build(connection: redis.Redis, team: Team, show: int | None = SHOWN) -> Digest:
    """The team's digest, in one pass over the compact feed: counts kept as it goes, only the first
    `show` items (None: all) ordered and read in full. Failures first, then what is unusual or waits
    for review, then the rest, newest first."""
    since = (cast(bytes | None, connection.get(cursor_key(team.name))) or b"").decode()
    newest = cast(list[tuple[bytes, dict[bytes, bytes]]], connection.xrevrange(UNATTENDED_FEED, count=1))
    until = newest[0][0].decode() if newest else since
    digest = Digest(team=team, since=since, until=until)
    rules = None if team.watch.rules is None else {r.encode() for r in team.watch.rules}
    agents = None if team.watch.agents is None else {a.encode() for a in team.watch.agents}
    pairs: Counter[tuple[bytes, bytes]] = Counter()

    def ranked() -> Iterator[tuple[int, float, bytes]]:
        if not until:
            return  # the feed is empty
        for page in stream_pages(connection, UNATTENDED_FEED, f"({since}" if since else "-", until):
            for _, f in page:
                if (rules is not None and f[b"r"] not in rules) or (agents is not None and f[b"a"] not in agents):
                    continue
                pairs[(f[b"a"], f[b"t"])] += 1
                if f.get(b"w"):
                    digest.allowed[json.loads(f[b"w"])["author"]] += 1
                failed = f[b"s"] == b"failed"
                digest.failed += failed
                yield (0 if failed else 1 if f[b"u"] == b"1" else 2, -float(f[b"c"]), f[b"i"])

    first = sorted(ranked()) if show is None else heapq.nsmallest(show, ranked())
    digest.count = sum(pairs.values())
    digest.per_agent_and_type = Counter({(a.decode(), t.decode()): n for (a, t), n in pairs.items()})
    digest.item_ids = [item[2].decode() for item in first]
    digest.shown = ActionStore(connection).get_many(digest.item_ids)
    return digest


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


WEEK_SECONDS = 7 * 86400


def weekly_key(team: str) -> str:
    return f"signoff:digest:{team}:weekly"


def claim_weekly(connection: redis.Redis, team: Team, now: datetime) -> str | None:
    """Whether this digest carries the weekly approval-health section: the first digest, then the first
    one at least a week (less an hour, so the same morning's a week later does) after the last that did.
    Returns what to restore if posting fails. Only the day's claimed digest asks (see `claim`)."""
    last = (cast(bytes | None, connection.get(weekly_key(team.name))) or b"").decode()
    if last and (now - datetime.fromisoformat(last)).total_seconds() < WEEK_SECONDS - 3600:
        return None
    connection.set(weekly_key(team.name), now.isoformat())
    return last


def release_weekly(connection: redis.Redis, team: Team, previous: str) -> None:
    """Posting failed: the next digest carries the weekly section instead."""
    if previous:
        connection.set(weekly_key(team.name), previous)
    else:
        connection.delete(weekly_key(team.name))
