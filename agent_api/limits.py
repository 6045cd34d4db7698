"""Request bodies over a limit are refused with 413 before they are read whole."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent_api.models import Problem
from agent_api.problems import MEDIA_TYPE

MAX_BODY = 1_000_000  # bytes


class BodyLimit:
    """ASGI middleware for the agents' API: a declared or streamed body past `limit` gets a 413."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY, prefix: str = "/api/") -> None:
        self.app, self.limit, self.prefix = app, limit, prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        seen, refused = 0, False

        async def counted() -> Message:
            # A streamed body past the limit: answer 413 now, and tell the app the client has gone.
            nonlocal seen, refused
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit and not refused:
                refused = True
                await self._refuse(send)
                return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            if not refused:  # after a 413, whatever the app still says is dropped
                await send(message)

        await self.app(scope, counted, guarded)

    async def _refuse(self, send: Send) -> None:
        problem = Problem(title="Request body too large", status=413,
                          detail=f"the body is larger than {self.limit:,} bytes")
        body = problem.model_dump_json(exclude_none=True).encode()
        headers: list[Any] = [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
