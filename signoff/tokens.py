"""Agent tokens: how an agent that holds no Redis credentials is known to the HTTP API.

A token is shown once, when it is created; Redis keeps only its SHA-256. It names one agent (the
agent's name comes from the token, never from a request), the action types it may submit, whether
it may declare types it performs itself, and when it expires. It can never decide anything.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from typing import cast

import redis
from pydantic import BaseModel

PREFIX = "sot_"  # "signoff token": recognisable in a leaked log line, and masked there
_KEY = "signoff:token:"
_INDEX = "signoff:tokens"


class AgentToken(BaseModel):
    id: str  # the first characters of the token's hash: what `list` shows and `revoke` takes
    agent: str
    types: list[str] | None = None  # None: any registered type
    can_declare: bool = False
    created_at: float
    expires_at: float | None = None

    def allows(self, action_type: str) -> bool:
        return self.types is None or action_type in self.types

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at is not None and (time.time() if now is None else now) >= self.expires_at


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(connection: redis.Redis, agent: str, *, types: list[str] | None = None, expires_in: float | None = None,
           can_declare: bool = False) -> tuple[str, AgentToken]:
    """A new token for `agent`: the token itself (shown once) and what Redis keeps of it."""
    token = PREFIX + secrets.token_urlsafe(32)
    digest = _digest(token)
    now = time.time()
    record = AgentToken(id=digest[:12], agent=agent, types=types, can_declare=can_declare, created_at=now,
                        expires_at=now + expires_in if expires_in else None)
    with connection.pipeline() as pipe:
        pipe.set(_KEY + digest, record.model_dump_json())
        pipe.hset(_INDEX, record.id, digest)
        pipe.execute()
    return token, record


def verify(connection: redis.Redis, token: str) -> AgentToken | None:
    """The token's record if it is known, not revoked and not expired; else None."""
    if not token.startswith(PREFIX):
        return None
    raw = cast(bytes | None, connection.get(_KEY + _digest(token)))
    if raw is None:
        return None
    record = AgentToken.model_validate_json(raw)
    return None if record.expired() else record


def all_tokens(connection: redis.Redis) -> list[AgentToken]:
    digests = [d.decode() for d in cast(dict[bytes, bytes], connection.hgetall(_INDEX)).values()]
    with connection.pipeline(transaction=False) as pipe:
        for digest in digests:
            pipe.get(_KEY + digest)
        rows = pipe.execute()
    return sorted((AgentToken.model_validate(json.loads(r)) for r in rows if r), key=lambda t: t.created_at)


def revoke(connection: redis.Redis, token_id: str) -> bool:
    digest = cast(bytes | None, connection.hget(_INDEX, token_id))
    if digest is None:
        return False
    with connection.pipeline() as pipe:
        pipe.delete(_KEY + digest.decode())
        pipe.hdel(_INDEX, token_id)
        pipe.execute()
    return True
