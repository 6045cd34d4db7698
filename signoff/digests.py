"""Daily digests: what ran without a person's approval since the team's last digest.

Each team keeps a cursor, the id of the last audit-stream entry its digest covered. A digest covers
the entries after the cursor up to the newest at the time it is built, and moves the cursor only
once it has been posted: nothing is missed or shown twice, whatever restarts in between.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

import redis

from policies.teams import Team
from signoff.audit import AUDIT_STREAM, read_events_after
from signoff.models import Action, Status
from signoff.store import ActionStore

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
    since: str  # audit stream id the digest starts after ("" for the beginning)
    until: str  # the newest audit stream id it covers
    items: list[Action] = field(default_factory=list)

    @property
    def failures(self) -> list[Action]:
        return [a for a in self.items if a.status == Status.FAILED]

    @property
    def per_agent_and_type(self) -> Counter[tuple[str, str]]:
        return Counter((a.agent, a.type) for a in self.items)

    def ordered(self) -> list[Action]:
        """Failures first, then what is unusual or waits for review, then the rest, newest first."""
        def rank(a: Action) -> tuple[int, float]:
            unusual = bool(a.risk) or a.review in ("pending_review", "flagged")
            return (0 if a.status == Status.FAILED else 1 if unusual else 2, -a.created_at.timestamp())
        return sorted(self.items, key=rank)


def _watched(team: Team, action: Action) -> bool:
    ran_unattended = (action.decided_by or "").startswith("policy:")
    rules_ok = team.watch.rules is None or action.rule in team.watch.rules
    agents_ok = team.watch.agents is None or action.agent in team.watch.agents
    return ran_unattended and rules_ok and agents_ok


def build(connection: redis.Redis, team: Team) -> Digest:
    since = (cast(bytes | None, connection.get(cursor_key(team.name))) or b"").decode()
    newest = cast(list[tuple[bytes, dict[bytes, bytes]]], connection.xrevrange(AUDIT_STREAM, count=1))
    until = newest[0][0].decode() if newest else since
    ended = dict.fromkeys(e.action_id for e in read_events_after(connection, since, until)
                          if e.step in ("succeeded", "failed"))
    items = [a for a in ActionStore(connection).get_many(list(ended)) if _watched(team, a)]
    return Digest(team=team, since=since, until=until, items=items)


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
