"""Actions in Redis: one hash per action, an index per status, and atomic transitions.

Every state change runs as one Lua script: it checks the current status (and the parameters'
version, for decisions), writes the change, moves the status index and appends the audit event.
Two concurrent decisions therefore leave exactly one winner.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

import redis
from redis.client import Pipeline

from signoff.audit import AUDIT_STREAM, encode_event
from signoff.errors import ActionNotFound, SignoffError, StaleVersion, TransitionRefused
from signoff.models import Action, AuditEvent, Status, utcnow

PREFIX = "signoff"
ALL_INDEX = f"{PREFIX}:actions"  # every action, by creation time
TRANSITIONS_CHANNEL = f"{PREFIX}:transitions"  # "<action id> <new status>" on every transition

_TRANSITION = """
local key, stream = KEYS[1], KEYS[2]
local current = redis.call('HGET', key, 'status')
if not current then return {'missing'} end
local n_allowed = tonumber(ARGV[1])
local allowed = (n_allowed == 0)
for i = 2, n_allowed + 1 do
  if ARGV[i] == current then allowed = true end
end
local i = n_allowed + 2
local expect_version, prefix, new_status = ARGV[i], ARGV[i + 1], ARGV[i + 2]
local event, reply_with_all = ARGV[i + 3], ARGV[i + 4]
if not allowed then
  return {'refused', current, redis.call('HGET', key, 'decided_by') or 'null',
          redis.call('HGET', key, 'decided_at') or 'null'}
end
if expect_version ~= '' then
  local version = redis.call('HGET', key, 'version')
  if version ~= expect_version then return {'stale', version} end
end
for j = i + 5, #ARGV, 2 do
  redis.call('HSET', key, ARGV[j], ARGV[j + 1])
end
-- Fields hold JSON: strip the quotes of the id and status strings.
local id = string.sub(redis.call('HGET', key, 'id'), 2, -2)
local old_status = string.sub(current, 2, -2)
redis.call('ZREM', prefix .. 'status:' .. old_status, id)
redis.call('ZADD', prefix .. 'status:' .. new_status, redis.call('HGET', key, 'created_score'), id)
redis.call('XADD', stream, '*', 'e', event, 'from', old_status)
redis.call('PUBLISH', prefix .. 'transitions', id .. ' ' .. new_status)
if reply_with_all == '1' then return {'ok', redis.call('HGETALL', key)} end
return {'ok'}
"""


_VOTE = """
local key = KEYS[1]
local status = redis.call('HGET', key, 'status')
if not status then return {'missing'} end
if status ~= '"pending_approval"' then
  return {'refused', status, redis.call('HGET', key, 'decided_by') or 'null',
          redis.call('HGET', key, 'decided_at') or 'null'}
end
if ARGV[3] ~= '' and redis.call('HGET', key, 'version') ~= ARGV[3] then
  return {'stale', redis.call('HGET', key, 'version')}
end
local votes = redis.call('HGET', key, 'votes') or '[]'
if string.find(votes, '"by":' .. ARGV[1], 1, true) then return {'duplicate'} end
-- Appended as text: a JSON round trip in Lua would turn an empty list into an object.
if votes == '[]' then votes = '[' .. ARGV[2] .. ']' else votes = string.sub(votes, 1, -2) .. ',' .. ARGV[2] .. ']' end
redis.call('HSET', key, 'votes', votes)
redis.call('XADD', KEYS[2], '*', 'e', ARGV[4], 'from', 'pending_approval')
redis.call('PUBLISH', ARGV[5], string.sub(redis.call('HGET', key, 'id'), 2, -2) .. ' pending_approval')
local _, count = string.gsub(votes, '"by":', '')
return {'ok', count}
"""


class AlreadyVoted(TransitionRefused):
    def __init__(self, action_id: str, by: str) -> None:
        SignoffError.__init__(self, f"{by} has already approved {action_id}; it needs approvals from other people")
        self.action_id, self.status, self.decided_by, self.decided_at = action_id, "pending_approval", None, None


def action_key(action_id: str) -> str:
    return f"{PREFIX}:action:{action_id}"


def status_index(status: Status | str) -> str:
    return f"{PREFIX}:status:{status}"


def _encode(action: Action, fields: Iterable[str] | None = None) -> dict[str, str]:
    data = action.model_dump(mode="json")
    names = fields if fields is not None else data.keys()
    return {name: json.dumps(data[name]) for name in names}


def _decode(raw: dict[bytes, bytes]) -> Action:
    data = {k.decode(): json.loads(v) for k, v in raw.items() if k != b"created_score"}
    return Action.model_validate(data)


class ActionStore:
    def __init__(self, connection: redis.Redis) -> None:
        self.connection = connection
        self._transition = connection.register_script(_TRANSITION)
        self._vote = connection.register_script(_VOTE)

    def create(self, action: Action, event: AuditEvent, pipe: Pipeline | None = None) -> Action:
        """Records a new action; with `pipe`, as part of the caller's transaction."""
        own = pipe is None
        pipe = pipe if pipe is not None else self.connection.pipeline(transaction=True)
        score = action.created_at.timestamp()
        mapping: dict[str, str | float] = {**_encode(action), "created_score": score}
        pipe.hset(action_key(action.id), mapping=cast(dict[Any, Any], mapping))
        pipe.zadd(status_index(action.status), {action.id: score})
        pipe.zadd(ALL_INDEX, {action.id: score})
        pipe.xadd(AUDIT_STREAM, {"e": encode_event(event), "from": ""})
        if own:
            pipe.execute()
        return action

    def get(self, action_id: str) -> Action:
        raw = cast(dict[bytes, bytes], self.connection.hgetall(action_key(action_id)))
        if not raw:
            raise ActionNotFound(action_id)
        return _decode(raw)

    def transition(
        self,
        action_id: str,
        to: Status,
        *,
        allowed_from: Iterable[Status],
        event: AuditEvent,
        changes: dict[str, Any] | None = None,
        expect_version: int | None = None,
        current: Action | None = None,
    ) -> Action:
        """Moves an action to `to` if it is in one of `allowed_from`, else raises; returns the new action.

        With `current` (the action as the caller read it, the script checking its status and version),
        the new action is that one with the changes: Redis need not send the whole hash back.
        """
        allowed = [json.dumps(str(s)) for s in allowed_from]
        fields = {"status": to, "updated_at": utcnow(), **(changes or {})}
        encoded = {name: json.dumps(_jsonable(value)) for name, value in fields.items()}
        event.status_to = str(to)
        args: list[Any] = [len(allowed), *allowed]
        args += ["" if expect_version is None else json.dumps(expect_version), f"{PREFIX}:", str(to)]
        args += [encode_event(event), "0" if current is not None else "1"]
        for name, value in encoded.items():
            args += [name, value]
        reply = self._transition(
            keys=[action_key(action_id), AUDIT_STREAM], args=args
        )
        _raise_unless_ok(reply, action_id, expect_version)
        if current is not None:
            return current.model_copy(update=fields)
        flat = reply[1]
        return _decode(dict(zip(flat[::2], flat[1::2], strict=True)))

    def append_audit(self, event: AuditEvent) -> None:
        """An event that changes no status (a flag on an action that ran)."""
        self.connection.xadd(AUDIT_STREAM, {"e": encode_event(event), "from": ""})

    def vote(self, action_id: str, by: str, event: AuditEvent, expect_version: int | None = None) -> int:
        """Adds one person's approval toward a quorum; returns how many approvals it now has."""
        vote = json.dumps({"by": by, "at": utcnow().isoformat()}, separators=(",", ":"))
        reply = self._vote(keys=[action_key(action_id), AUDIT_STREAM], args=[
            json.dumps(by), vote, "" if expect_version is None else json.dumps(expect_version),
            encode_event(event), TRANSITIONS_CHANNEL])
        if reply[0] == b"duplicate":
            raise AlreadyVoted(action_id, by)
        _raise_unless_ok(reply, action_id, expect_version)
        return int(reply[1])

    def annotate(self, action_id: str, **fields: Any) -> None:
        """Bookkeeping that is not a transition (its Slack message, its batch): no status check, no audit."""
        self.connection.hset(action_key(action_id), mapping={k: json.dumps(_jsonable(v)) for k, v in fields.items()})

    def newest(self, status: Status | None = None, limit: int = 50) -> list[Action]:
        index = status_index(status) if status is not None else ALL_INDEX
        ids = cast(list[bytes], self.connection.zrevrange(index, 0, limit - 1))
        return self.get_many([i.decode() for i in ids])

    def get_many(self, action_ids: list[str]) -> list[Action]:
        """The actions that exist among `action_ids`, in that order, in one round trip."""
        with self.connection.pipeline(transaction=False) as pipe:
            for action_id in action_ids:
                pipe.hgetall(action_key(action_id))
            rows = pipe.execute()
        return [_decode(row) for row in rows if row]

    def wait_for_status(self, action_id: str, statuses: Iterable[Status], timeout: float) -> Action:
        """Blocks until the action is in one of `statuses` or `timeout` passes; returns it as it then is."""
        wanted = set(statuses)
        deadline = time.monotonic() + timeout
        with self.connection.pubsub(ignore_subscribe_messages=True) as pubsub:
            pubsub.subscribe(TRANSITIONS_CHANNEL)  # before reading, so no transition slips between
            action = self.get(action_id)
            while action.status not in wanted and (remaining := deadline - time.monotonic()) > 0:
                message = pubsub.get_message(timeout=remaining)
                if message and message["data"].split(b" ", 1)[0].decode() == action_id:
                    action = self.get(action_id)
        return action

    def wait_settled(self, action_id: str, timeout: float) -> Action:
        """Blocks until the action is settled (see `Action.settled_statuses`) or `timeout` passes."""
        return self.wait_for_status(action_id, self.get(action_id).settled_statuses, timeout)


def _raise_unless_ok(reply: list[Any], action_id: str, expect_version: int | None) -> None:
    """The scripts' refusals, as the errors callers catch: missing, already decided, stale version."""
    outcome = reply[0].decode()
    if outcome == "missing":
        raise ActionNotFound(action_id)
    if outcome == "refused":
        decided_at = json.loads(reply[3])
        raise TransitionRefused(action_id, json.loads(reply[1]), json.loads(reply[2]),
                                datetime.fromisoformat(decided_at) if decided_at else None)
    if outcome == "stale":
        raise StaleVersion(action_id, expect_version or 0, json.loads(reply[1]))


def _jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
