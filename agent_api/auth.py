"""Bearer tokens: the agent is whoever its token names; a wrong, revoked or expired token is a 401."""

from __future__ import annotations

from fastapi import Request

from agent_api.problems import ProblemError
from signoff import tokens
from signoff.logging import log
from signoff.runtime import Runtime


def agent_of(rt: Runtime, request: Request) -> tokens.AgentToken:
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    record = tokens.verify(rt.connection, token.strip()) if scheme.lower() == "bearer" else None
    if record is None:
        # Logged without the token, so the log never holds a credential to try again.
        log.warning("api_unauthorized", path=request.url.path, client=request.client.host if request.client else None,
                    scheme=scheme or None)
        raise ProblemError(401, "Unauthorized", "a valid agent token is required: Authorization: Bearer sot_…",
                           headers={"WWW-Authenticate": 'Bearer realm="signoff"'})
    return record
