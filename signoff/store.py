"""Actions in Redis: one JSON document per action, an index per status, and atomic transitions.

An action is one string key: a JSON object of strings, fields at their defaults left out. Text
fields (ids, statuses, times, names) are stored as themselves; the others (parameters, lists, numbers)
as their own JSON text. Lua reads and rewrites it as a table of strings, so the parameters are never
re-encoded by Redis's JSON library (which would round floats and turn `[]` into `{}`); one string
costs a fifth of the memory of a hash with a field per attribute.

Every state change runs as one Lua script: it checks the current status (and the parameters'
version, for decisions), writes the change, moves the status index, appends the audit event (and its
id to the action, so an action's history is read without scanning the stream), drops the timers of
a wait that ended, and publishes the change on the action's own channel. Two concurrent decisions
therefore leave exactly one winner.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from types import UnionType
from typing import Any, Union, cast, get_args, get_origin

import redis
from pydantic_core import PydanticUndefined
from redis.client import Pipeline

from signoff.audit import encode_event
from signoff.errors import ActionNotFound, ApprovalUsed, SignoffError, StaleVersion, TransitionRefused
from signoff.keys import AUDIT_STREAM, METRICS_KEY, PREFIX, action_key
from signoff.models import Action, AuditEvent, Mode, Review, Status, utcnow

ALL_INDEX = f"{PREFIX}:actions"  # every action, by creation time
TIMERS = f"{PREFIX}:timers"  # "<kind>:<action id>" scored by when it is due (see signoff.timers)
#: One small entry per action that ran without a person's approval, for the team digests (see signoff.digests).
UNATTENDED_FEED = f"{PREFIX}:unattended"
UNATTENDED_KEPT = 1_000_000  # unread entries past this many are dropped (approximately): a bound, not a queue
#: Waiting actions not yet in Slack, scored by when the sweep should look at them (see
#: workers.maintenance): a held action joins in its transition; its post, or the end of its wait,
#: takes it off.
UNPOSTED = f"{PREFIX}:unposted"
#: Seconds from request to a person's decision: the upper bounds of signoff.metrics's histogram, kept here.
DECISION_BUCKETS = (10, 30, 60, 300, 900, 3600, 14400, 86400)
UNPOSTED_LOOK_AFTER = 60.0  # seconds the post job has before the sweep looks

#: Fields every document keeps, whatever their value: the scripts read them.
_ALWAYS = frozenset({"id", "type", "agent", "reason", "params", "status", "version"})
#: Bookkeeping kept in the document beside the action's fields.
_SCORE, _AUDIT = "score", "audit"

_CREATE = """
local doc = cjson.decode(ARGV[1])
local id = ARGV[3]
local eid = redis.call('XADD', KEYS[4], '*', 'e', ARGV[4], 'from', '')
doc['audit'] = eid
redis.call('SET', KEYS[1], cjson.encode(doc))
redis.call('ZADD', KEYS[2], ARGV[2], id)
redis.call('ZADD', KEYS[3], ARGV[2], id)
redis.call('HINCRBY', KEYS[5], 'to:received', 1)
return eid
"""

# Appends a stream entry id to the document's list of its audit events (kept as JSON text).
_REMEMBER_EVENT = """
local function remember(doc, eid)
  if doc['audit'] then doc['audit'] = doc['audit'] .. ',' .. eid else doc['audit'] = eid end
end
"""

_TRANSITION = _REMEMBER_EVENT + """
local key, stream, timers = KEYS[1], KEYS[2], KEYS[3]
local raw = redis.call('GET', key)
if not raw then return {'missing'} end
local doc = cjson.decode(raw)
local current = doc['status']
local n_allowed = tonumber(ARGV[1])
local allowed = (n_allowed == 0)
for i = 2, n_allowed + 1 do
  if ARGV[i] == current then allowed = true end
end
local i = n_allowed + 2
local expect_version, prefix, new_status = ARGV[i], ARGV[i + 1], ARGV[i + 2]
local reply_with_all, id, kept, n_steps = ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], tonumber(ARGV[i + 6])
local look_at, consume, max_attempts = ARGV[i + 7], ARGV[i + 8], tonumber(ARGV[i + 9])
-- The steps: pairs of (audit event, the status it leads to); the last leads to new_status.
local steps_at, fields_at = i + 10, i + 10 + 2 * n_steps
if not allowed then
  return {'refused', current, doc['decided_by'] or '', doc['decided_at'] or ''}
end
if expect_version ~= '' and doc['version'] ~= expect_version then return {'stale', doc['version']} end
if consume ~= '' then
  -- The approval's single-use mark, "<attempts>:<state>": a start takes it only if it is unused, or
  -- if its last attempt failed and the declared retries allow another. Anything else is a replay.
  local mark = redis.call('GET', KEYS[6])
  local n, state = 0, nil
  if mark then
    local a, b = string.match(mark, '^(%d+):(%a+)$')
    n, state = tonumber(a) or max_attempts, b
  end
  if consume == 'start' then
    if mark and not (state == 'failed' and n < max_attempts) then return {'consumed', mark} end
    redis.call('SET', KEYS[6], (n + 1) .. ':running')
  else
    redis.call('SET', KEYS[6], math.max(n, 1) .. ':' .. consume)
  end
end
for j = fields_at, #ARGV, 2 do
  if ARGV[j + 1] == '' then doc[ARGV[j]] = nil else doc[ARGV[j]] = ARGV[j + 1] end
end
local old_status = current
if old_status ~= new_status then
  redis.call('ZREM', prefix .. 'status:' .. old_status, id)
  redis.call('ZADD', prefix .. 'status:' .. new_status, doc['score'], id)
end
local in_slack = string.find(doc['slack'] or '', '"ts"', 1, true)
if old_status == 'pending_approval' and new_status ~= 'pending_approval' then
  -- The wait ended: its deadline, reminder and escalation have nothing left to do, nor the sweep
  -- (a posted action left the unposted index when it was posted).
  redis.call('ZREM', timers, 'expire:' .. id, 'remind:' .. id, 'escalate:' .. id, 'warn:' .. id)
  if not in_slack then redis.call('ZREM', KEYS[5], id) end
elseif new_status == 'pending_approval' and not in_slack then
  -- Waiting and not in Slack yet: the sweep looks at it then, unless its post has taken it off.
  redis.call('ZADD', KEYS[5], look_at, id)
end
local metrics = prefix .. 'metrics'
local from = old_status
for j = steps_at, fields_at - 1, 2 do
  remember(doc, redis.call('XADD', stream, '*', 'e', ARGV[j], 'from', from))
  if ARGV[j + 1] ~= from then redis.call('HINCRBY', metrics, 'to:' .. ARGV[j + 1], 1) end
  from = ARGV[j + 1]
end
-- The operators' figures (signoff.metrics): who waits, by rule, and how long people took to decide.
if old_status ~= new_status and (old_status == 'pending_approval' or new_status == 'pending_approval') then
  redis.call('HINCRBY', metrics, 'waiting:' .. (doc['rule'] or '-'), new_status == 'pending_approval' and 1 or -1)
  local by_person = string.sub(doc['decided_by'] or 'policy:', 1, 7) ~= 'policy:'
  if by_person and (new_status == 'approved' or new_status == 'rejected') then
    local now = redis.call('TIME')
    local waited = tonumber(now[1]) + tonumber(now[2]) / 1000000 - tonumber(doc['score'])
    local bucket = '+Inf'  -- its own bucket only: the collector adds them up, as Prometheus wants them
    for _, le in ipairs({DECISION_BUCKETS}) do
      if waited <= le then bucket = tostring(le) break end
    end
    redis.call('HINCRBY', metrics, 'decided_in:' .. bucket, 1)
    redis.call('HINCRBYFLOAT', metrics, 'decided_sum', waited)
  end
end
local by_policy = string.sub(doc['decided_by'] or '', 1, 7) == 'policy:'
if by_policy and (new_status == 'succeeded' or new_status == 'failed') then
  -- Ran without a person's approval: one small entry for the digests, which never read the audit log.
  local unusual = doc['risk'] ~= nil or doc['review'] == 'pending_review' or doc['review'] == 'flagged'
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', kept, '*', 'i', id, 'a', doc['agent'], 't', doc['type'],
             'r', doc['rule'] or '', 's', new_status, 'u', unusual and '1' or '0', 'c', doc['score'],
             'w', doc['allowance'] or '')
end
local encoded = cjson.encode(doc)
redis.call('SET', key, encoded)
redis.call('PUBLISH', prefix .. 'transitions:' .. id, new_status)
if reply_with_all == '1' then return {'ok', encoded} end
return {'ok'}
"""

_TRANSITION = _TRANSITION.replace("{DECISION_BUCKETS}", "{" + ",".join(map(str, DECISION_BUCKETS)) + "}")

_VOTE = _REMEMBER_EVENT + """
local key = KEYS[1]
local raw = redis.call('GET', key)
if not raw then return {'missing'} end
local doc = cjson.decode(raw)
if doc['status'] ~= 'pending_approval' then
  return {'refused', doc['status'], doc['decided_by'] or '', doc['decided_at'] or ''}
end
if ARGV[3] ~= '' and doc['version'] ~= ARGV[3] then return {'stale', doc['version']} end
local votes = doc['votes'] or '[]'
local _, already = string.gsub(votes, '"by":', '')
if string.find(votes, '"by":' .. ARGV[1], 1, true) then return {'duplicate', already} end
-- Appended as text: a JSON round trip in Lua would turn an empty list into an object.
if votes == '[]' then votes = '[' .. ARGV[2] .. ']' else votes = string.sub(votes, 1, -2) .. ',' .. ARGV[2] .. ']' end
doc['votes'] = votes
remember(doc, redis.call('XADD', KEYS[2], '*', 'e', ARGV[4], 'from', 'pending_approval'))
redis.call('SET', key, cjson.encode(doc))
redis.call('PUBLISH', ARGV[5], 'pending_approval')
return {'ok', already + 1}
"""

# Bookkeeping that is not a transition, and events that change no status: no status check.
_ANNOTATE = _REMEMBER_EVENT + """
local eid = nil
if ARGV[1] ~= '' then eid = redis.call('XADD', KEYS[2], '*', 'e', ARGV[1], 'from', '') end
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local doc = cjson.decode(raw)
for j = 2, #ARGV, 2 do
  if ARGV[j + 1] == '' then doc[ARGV[j]] = nil else doc[ARGV[j]] = ARGV[j + 1] end
end
if eid then remember(doc, eid) end
redis.call('SET', KEYS[1], cjson.encode(doc))
if KEYS[3] then redis.call('ZREM', KEYS[3], doc['id']) end  -- in Slack now: the sweep need not look
return doc['status']
"""


class AlreadyVoted(TransitionRefused):
    def __init__(self, action_id: str, by: str, votes: int, needed: int | None = None) -> None:
        self.action_id, self.status, self.decided_by, self.decided_at = action_id, "pending_approval", None, None
        self.by, self.votes, self.needed = by, votes, needed
        SignoffError.__init__(self, f"{by} has already approved {action_id}; {self._still()}")

    def _still(self) -> str:
        more = None if self.needed is None else self.needed - self.votes
        if more is None or more < 1:
            return "it needs approvals from other people"
        return "it needs one more person" if more == 1 else f"it needs {more} more people"

    def with_quorum(self, needed: int) -> AlreadyVoted:
        return AlreadyVoted(self.action_id, self.by, self.votes, needed)

    @property
    def for_reviewer(self) -> str:
        """What the reviewer who clicked twice reads."""
        return f"You have already approved this; {self._still()}."


def consumed_key(nonce: str) -> str:
    """An approval's single-use mark (see signoff.door)."""
    return f"{PREFIX}:consumed:{nonce}"


def status_index(status: Status | str) -> str:
    return f"{PREFIX}:status:{status}"


def transitions_channel(action_id: str) -> str:
    """Where the action's transitions are published (its new status): a waiter hears only its own action."""
    return f"{PREFIX}:transitions:{action_id}"


#: What the web process's hub subscribes to: every action's channel, with one pattern.
TRANSITIONS_PATTERN = f"{PREFIX}:transitions:*"


def _jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):  # nested records (how it waits) keep only what differs from defaults
        return value.model_dump(mode="json", exclude_defaults=True)
    if isinstance(value, datetime):  # UTC as "Z", as pydantic writes it
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _defaults() -> dict[str, Any]:
    """Each field's default as it is stored (its JSON form), for the fields the document may leave out."""
    found: dict[str, Any] = {}
    for name, info in Action.model_fields.items():
        if name in _ALWAYS:
            continue
        if info.default is not PydanticUndefined:
            found[name] = _jsonable(info.default)
        elif info.default_factory in (list, dict):
            found[name] = info.default_factory()
    return found


def _text_fields() -> frozenset[str]:
    """Fields whose values are text (or absent): stored as themselves, not as JSON strings."""
    textual = {str, Status, Review, Mode, datetime}

    def kinds(annotation: Any) -> set[Any]:  # `X | None` is its members; `list[str]` is a list
        return set(get_args(annotation)) if get_origin(annotation) in (Union, UnionType) else {annotation}

    return frozenset(name for name, info in Action.model_fields.items()
                     if kinds(info.annotation) - {type(None)} <= textual)


_DEFAULTS = _defaults()
_TEXT = _text_fields()


def _field_text(name: str, value: Any) -> str:
    """How a field is stored: "" for one at its default (left out of the document), text fields as
    themselves, the others as compact JSON."""
    value = _jsonable(value)
    if name not in _ALWAYS and (value is None or (name in _DEFAULTS and value == _DEFAULTS[name])):
        return ""
    if name in _TEXT:
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def _document(action: Action) -> dict[str, str]:
    # Left out where the document has them already: the creation time is the score's, and most
    # actions are submitted by their own agent.
    derived = {"created_at"} | ({"submitted_by"} if action.submitted_by == action.agent else set())
    return {name: text for name in Action.model_fields
            if name not in derived and (text := _field_text(name, getattr(action, name)))}


def _decode(raw: bytes) -> Action:
    fields = json.loads(raw)
    data = {k: v if k in _TEXT else json.loads(v) for k, v in fields.items() if k not in (_SCORE, _AUDIT)}
    data["created_at"] = datetime.fromtimestamp(float(fields[_SCORE]), UTC)
    data.setdefault("submitted_by", data["agent"])
    return Action.model_validate(data)


class ActionStore:
    def __init__(self, connection: redis.Redis) -> None:
        self.connection = connection
        self._create = connection.register_script(_CREATE)
        self._transition = connection.register_script(_TRANSITION)
        self._vote = connection.register_script(_VOTE)
        self._annotate = connection.register_script(_ANNOTATE)

    def create(self, action: Action, event: AuditEvent, pipe: Pipeline | None = None) -> Action:
        """Records a new action; with `pipe`, as part of the caller's transaction."""
        score = action.created_at.timestamp()
        document = {**_document(action), _SCORE: repr(score)}
        keys = [action_key(action.id), status_index(action.status), ALL_INDEX, AUDIT_STREAM, METRICS_KEY]
        args: list[str | float] = [json.dumps(document, separators=(",", ":")), score, action.id,
                                   encode_event(event)]
        if pipe is None:
            self._create(keys=keys, args=args)
        else:
            # EVAL, not EVALSHA: redis-py checks a pipeline's scripts with SCRIPT EXISTS first, a round
            # trip per request; Redis caches the script by its hash either way.
            pipe.eval(_CREATE, len(keys), *keys, *args)
        return action

    def get(self, action_id: str) -> Action:
        raw = cast(bytes | None, self.connection.get(action_key(action_id)))
        if raw is None:
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
        via: Iterable[tuple[Status, AuditEvent]] = (),
        consume: tuple[str, str, int] | None = None,
    ) -> Action:
        """Moves an action to `to` if it is in one of `allowed_from`, else raises; returns the new action.

        With `current` (the action as the caller read it, the script checking its status and version),
        the new action is that one with the changes: Redis need not send the document back. `via` names
        steps passed through on the way, each audited as itself, in the same atomic step (an action the
        policy lets run, started at once: received -> approved -> running).

        `consume` is (nonce, "start" | "failed" | "done", attempts allowed): the approval's single-use
        mark, checked and moved in the same atomic step (see signoff.door); a start on a used approval
        raises ApprovalUsed.
        """
        allowed = [str(s) for s in allowed_from]
        fields = {"status": to, "updated_at": utcnow(), **(changes or {})}
        if current is not None:  # only what changes is written
            fields = {k: v for k, v in fields.items() if k in ("status", "updated_at") or getattr(current, k) != v}
        steps = [*via, (to, event)]
        args: list[Any] = [len(allowed), *allowed]
        args += ["" if expect_version is None else json.dumps(expect_version), f"{PREFIX}:", str(to)]
        args += ["0" if current is not None else "1", action_id, UNATTENDED_KEPT, len(steps),
                 repr(time.time() + UNPOSTED_LOOK_AFTER), consume[1] if consume else "", consume[2] if consume else 0]
        for status, step in steps:
            step.status_to = str(status)
            args += [encode_event(step), str(status)]
        for name, value in fields.items():
            args += [name, _field_text(name, value)]
        keys = [action_key(action_id), AUDIT_STREAM, TIMERS, UNATTENDED_FEED, UNPOSTED]
        if consume:
            keys.append(consumed_key(consume[0]))
        reply = self._transition(keys=keys, args=args)
        _raise_unless_ok(reply, action_id, expect_version)
        if current is not None:
            return current.model_copy(update=fields)
        return _decode(reply[1])

    def vote(self, action_id: str, vote: dict[str, str], event: AuditEvent, expect_version: int | None = None) -> int:
        """Adds one person's signed approval (see signoff.door.vote) toward a quorum; returns how many
        approvals it now has. The same person twice, however spelled, is refused (AlreadyVoted)."""
        by = vote["by"]
        reply = self._vote(keys=[action_key(action_id), AUDIT_STREAM], args=[
            json.dumps(by), json.dumps(vote, separators=(",", ":")),
            "" if expect_version is None else json.dumps(expect_version), encode_event(event),
            transitions_channel(action_id)])
        if reply[0] == b"duplicate":
            raise AlreadyVoted(action_id, by, int(reply[1]))
        _raise_unless_ok(reply, action_id, expect_version)
        return int(reply[1])

    def annotate(self, action_id: str, event: AuditEvent | None = None, *, in_slack: bool = False,
                 pipe: Pipeline | None = None, **fields: Any) -> Status | None:
        """Bookkeeping that is not a transition (its Slack message, its batch): no status check; with
        `event`, an audit event recorded in the same step; `in_slack` says its approval request has
        been posted. Returns the action's status as it then was (None if there is no such action, or
        with `pipe`: queued in the caller's transaction, which gets the reply)."""
        args: list[str] = [encode_event(event) if event is not None else ""]
        for name, value in fields.items():
            args += [name, _field_text(name, value)]
        keys = [action_key(action_id), AUDIT_STREAM, *([UNPOSTED] if in_slack else [])]
        status = self._annotate(keys=keys, args=args, client=pipe)
        return Status(status.decode()) if isinstance(status, bytes) else None

    def oldest(self, status: Status, limit: int) -> list[Action]:
        ids = cast(list[bytes], self.connection.zrange(status_index(status), 0, limit - 1))
        return self.get_many([i.decode() for i in ids])

    def newest(self, status: Status | None = None, limit: int = 50, offset: int = 0) -> list[Action]:
        index = status_index(status) if status is not None else ALL_INDEX
        ids = cast(list[bytes], self.connection.zrevrange(index, offset, offset + limit - 1))
        return self.get_many([i.decode() for i in ids])

    def count(self, status: Status | None = None) -> int:
        """How many actions there are (in `status`), read from the index: one command, any size."""
        return int(self.connection.zcard(status_index(status) if status is not None else ALL_INDEX))

    def get_many(self, action_ids: list[str]) -> list[Action]:
        """The actions that exist among `action_ids`, in that order, in one command."""
        if not action_ids:
            return []
        rows = cast(list[bytes | None], self.connection.mget([action_key(i) for i in action_ids]))
        return [_decode(row) for row in rows if row]

    def wait_until(self, action_id: str, done: Callable[[Action], bool], timeout: float) -> Action:
        """Blocks until `done(action)` or `timeout` passes; returns the action as it then is."""
        deadline = time.monotonic() + timeout
        with self.connection.pubsub(ignore_subscribe_messages=True) as pubsub:
            pubsub.subscribe(transitions_channel(action_id))  # before reading, so no transition slips between
            action = self.get(action_id)
            while not done(action) and (remaining := deadline - time.monotonic()) > 0:
                if pubsub.get_message(timeout=remaining):
                    action = self.get(action_id)
        return action

    def wait_for_status(self, action_id: str, statuses: Iterable[Status], timeout: float) -> Action:
        """Blocks until the action is in one of `statuses` or `timeout` passes; returns it as it then is."""
        wanted = set(statuses)
        return self.wait_until(action_id, lambda action: action.status in wanted, timeout)

    def wait_settled(self, action_id: str, timeout: float, current: Action | None = None) -> Action:
        """Blocks until the action is settled (see `Action.settled`) or `timeout` passes. `current`: the
        action as the caller has it (saves a read when it is settled already)."""
        if current is not None and current.settled:
            return current
        return self.wait_until(action_id, lambda action: action.settled, timeout)


def _raise_unless_ok(reply: list[Any], action_id: str, expect_version: int | None) -> None:
    """The scripts' refusals, as the errors callers catch: missing, already decided, stale version."""
    outcome = reply[0].decode()
    if outcome == "missing":
        raise ActionNotFound(action_id)
    if outcome == "refused":
        status, decided_by, decided_at = (part.decode() for part in reply[1:4])
        raise TransitionRefused(action_id, status, decided_by or None,
                                datetime.fromisoformat(decided_at) if decided_at else None)
    if outcome == "consumed":
        raise ApprovalUsed(action_id, reply[1].decode())
    if outcome == "stale":
        raise StaleVersion(action_id, expect_version or 0, json.loads(reply[1]))
