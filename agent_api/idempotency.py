"""`Idempotency-Key`: a retried request returns the action the first one made, never a second one.

The key is claimed (SET NX, kept 24 h) for a fresh action id before the action is written, so of
twenty concurrent retries exactly one creates it. A retry that arrives while the first is still
writing gets 409 with Retry-After (as the IETF Idempotency-Key draft says); a key reused for a
different request is refused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, cast

import redis

KEEP_SECONDS = 24 * 3600


@dataclass
class Claim:
    action_id: str
    first: bool  # this request claimed the key: it creates the action
    same_request: bool  # the key was first used for this same request


def _key(agent: str, idempotency_key: str) -> str:
    return f"signoff:idem:{agent}:{hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]}"


def fingerprint(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:32]


def claim(connection: redis.Redis, agent: str, idempotency_key: str, body_fingerprint: str, new_id: str) -> Claim:
    key = _key(agent, idempotency_key)
    if connection.set(key, f"{new_id} {body_fingerprint}", nx=True, ex=KEEP_SECONDS):
        return Claim(new_id, first=True, same_request=True)
    raw = cast(bytes | None, connection.get(key)) or b" "
    action_id, _, earlier = raw.decode().partition(" ")
    return Claim(action_id, first=False, same_request=earlier == body_fingerprint)


def release(connection: redis.Redis, agent: str, idempotency_key: str, action_id: str) -> None:
    """The first request failed before creating anything (invalid parameters): a retry may try again."""
    key = _key(agent, idempotency_key)
    raw = cast(bytes | None, connection.get(key))
    if raw is not None and raw.decode().startswith(action_id + " "):
        connection.delete(key)
