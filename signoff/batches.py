"""Batches: actions a batch rule holds, gathered per rule and grouping key, decided together.

A batch opens with its first action and is sent when it reaches the rule's `max` or its `window`
closes, whichever is first. Adding and closing are Lua scripts, so two workers never open two
batches for one group, and a batch is sent exactly once.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, cast

import redis

from policies.rules import Batching
from signoff import lifecycle
from signoff.errors import SignoffError
from signoff.models import Action, Status
from signoff.runtime import Runtime

PREFIX = "signoff:batch:"
#: The batch that gathers a runaway (paused) agent's held actions into one message.
PAUSED_RULE = "paused-agent"

_ADD = """
local prefix, open_key = ARGV[1], KEYS[1]
local id = redis.call('GET', open_key)
local created = 0
if not id then
  id, created = ARGV[2], 1
  redis.call('SET', open_key, id)
  redis.call('HSET', prefix .. id, 'id', id, 'rule', ARGV[5], 'group', ARGV[6], 'created_at', ARGV[7],
             'closes_at', ARGV[8], 'status', 'open', 'open_key', open_key)
end
local size = redis.call('RPUSH', prefix .. id .. ':items', ARGV[3])
local full = 0
if size >= tonumber(ARGV[4]) then
  redis.call('HSET', prefix .. id, 'status', 'sent')
  redis.call('DEL', open_key)
  full = 1
end
return {id, created, size, full}
"""

_CLOSE = """
if redis.call('HGET', KEYS[1], 'status') ~= 'open' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'sent')
local open_key = redis.call('HGET', KEYS[1], 'open_key')
if redis.call('GET', open_key) == ARGV[1] then redis.call('DEL', open_key) end
return 1
"""


@dataclass
class Added:
    batch_id: str
    opened: bool  # the first action: schedule the window's close
    full: bool  # reached `max`: send now


@dataclass
class Batch:
    id: str
    rule: str
    group: str
    status: str
    created_at: float
    closes_at: float
    items: list[str]
    slack: dict[str, str] = field(default_factory=dict)
    decisions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class BatchOutcome:
    approved: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # action id -> why (decided meanwhile, not allowed)


def group_key(action: Action, batching: Batching) -> str:
    values = {"type": action.type, "agent": action.agent}
    return "/".join(f"{name}={values[name]}" for name in batching.group_by)


class Batches:
    def __init__(self, connection: redis.Redis) -> None:
        self.connection = connection
        self._add = connection.register_script(_ADD)
        self._close = connection.register_script(_CLOSE)

    def add(self, action: Action, rule: str, batching: Batching, now: float | None = None,
            group: str | None = None) -> Added:
        now = time.time() if now is None else now
        group = group or group_key(action, batching)
        reply = self._add(keys=[f"{PREFIX}open:{rule}:{group}"], args=[
            PREFIX, uuid.uuid4().hex[:12], action.id, batching.max, rule, group, now, now + batching.window])
        return Added(batch_id=reply[0].decode(), opened=bool(reply[1]), full=bool(reply[3]))

    def close(self, batch_id: str) -> bool:
        """Closes an open batch; True only for the call that closed it (so it is sent once)."""
        return bool(self._close(keys=[PREFIX + batch_id], args=[batch_id]))

    def get(self, batch_id: str) -> Batch:
        raw = cast(dict[bytes, bytes], self.connection.hgetall(PREFIX + batch_id))
        if not raw:
            raise SignoffError(f"no batch with id {batch_id!r}")
        data = {k.decode(): v.decode() for k, v in raw.items()}
        with self.connection.pipeline(transaction=False) as pipe:
            pipe.lrange(f"{PREFIX}{batch_id}:items", 0, -1)
            pipe.lrange(f"{PREFIX}{batch_id}:decisions", 0, -1)
            items, decisions = pipe.execute()
        return Batch(id=data["id"], rule=data["rule"], group=data["group"], status=data["status"],
                     created_at=float(data["created_at"]), closes_at=float(data["closes_at"]),
                     items=[i.decode() for i in items], slack=json.loads(data.get("slack", "{}")),
                     decisions=[json.loads(d) for d in decisions])

    def set_slack(self, batch_id: str, channel: str, ts: str) -> None:
        self.connection.hset(PREFIX + batch_id, "slack", json.dumps({"channel": channel, "ts": ts}))

    def record(self, batch_id: str, decision: dict[str, Any]) -> None:
        # Appended, not read and rewritten: two reviewers deciding at once both stay on the record.
        self.connection.rpush(f"{PREFIX}{batch_id}:decisions", json.dumps(decision))


def decide_items(rt: Runtime, batch_id: str, *, by: str, approve: list[str], reject: list[str],
                 note: str | None = None, refusal: Any = None, via: Any = None, stands_for: Any = None) -> BatchOutcome:
    """Decides each item on its own: an item decided meanwhile (or not this person's to decide) is skipped.
    `via(action)`: how the decider is one of its rule's approvers when not by name (`group:S…`);
    `stands_for(action)`: the away approver they decide it for, as a delegate."""
    outcome = BatchOutcome()
    for decision, ids in (("approve", approve), ("reject", reject)):
        for action_id in ids:
            action = rt.store.get(action_id)
            why_not = refusal(action) if refusal else None
            if why_not:
                outcome.skipped[action_id] = why_not
                continue
            try:
                lifecycle.decide(rt, action_id, decision, by=by, note=note, batch=batch_id,  # type: ignore[arg-type]
                                 via=via(action) if via else None,
                                 stands_for=stands_for(action) if stands_for else None)
            except SignoffError as refused:
                outcome.skipped[action_id] = str(refused)
                continue
            (outcome.approved if decision == "approve" else outcome.rejected).append(action_id)
    Batches(rt.connection).record(batch_id, {"by": by, "at": time.time(), "approved": len(outcome.approved),
                                             "rejected": len(outcome.rejected), "skipped": len(outcome.skipped)})
    return outcome


def pending_items(rt: Runtime, batch: Batch) -> list[Action]:
    return [a for a in (rt.store.get(i) for i in batch.items) if a.status == Status.PENDING_APPROVAL]
