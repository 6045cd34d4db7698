"""The web process: Bolt's requests and a health check, on uvicorn (a production ASGI server).

Bolt's own Starlette adapter turns requests into Bolt requests and back; its `dispatch` is
synchronous, so it runs in the thread pool rather than on the event loop, where one slow Slack
call would hold up every other click. uvicorn's listen backlog (2048) takes a burst of clicks
without resetting a connection.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import structlog
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.concurrency import run_in_threadpool

log = structlog.get_logger("signoff.bot")
EVENTS_PATH = "/slack/events"
BACKLOG = 2048


def create_web_app(bolt: App, ping: Callable[[], object]) -> FastAPI:
    """`ping` asks the store whether it answers, for the health check."""
    web = FastAPI(title="Signoff", docs_url=None, redoc_url=None, openapi_url=None)

    @web.post(EVENTS_PATH)
    async def slack_events(request: Request) -> Response:
        # Bolt parses the timestamp as an integer; anything else is an unsigned request, not a server error.
        if not request.headers.get("x-slack-request-timestamp", "").isdigit():
            return JSONResponse({"error": "invalid request"}, status_code=401)
        body = await request.body()
        response = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
        return to_starlette_response(response)

    @web.get("/healthz")
    @web.get("/health")
    async def health() -> Response:
        try:
            healthy = bool(await run_in_threadpool(ping))
        except Exception:  # any failure to reach Redis is "unhealthy", not a crash
            healthy = False
        return JSONResponse({"ok": healthy, "redis": healthy}, status_code=200 if healthy else 503)

    return web


class _Server(uvicorn.Server):
    """Says where it listens once the socket is bound, so whoever waits for it can send at once."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            log.info("bot_listening", url=f"http://{host}:{port}{EVENTS_PATH}")


def serve(web: Any, host: str, port: int) -> None:
    config = uvicorn.Config(web, host=host, port=port, backlog=BACKLOG, log_config=None, access_log=False,
                            timeout_graceful_shutdown=10, lifespan="off")
    asyncio.run(_Server(config).serve())
