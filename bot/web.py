"""Slack's side of the web process: Bolt's requests, plus a health check, as FastAPI routers.

Bolt's own Starlette adapter turns requests into Bolt requests and back; its `dispatch` is
synchronous, so it runs in the thread pool rather than on the event loop, where one slow Slack
call would hold up every other click. uvicorn's listen backlog (2048) takes a burst of clicks
without resetting a connection. The composition root puts these routers and the agents' API on
one app (`signoff_app.web`).
"""

from __future__ import annotations

import asyncio
import hmac
import socket
from collections.abc import Callable
from typing import Any

import redis
import structlog
import uvicorn
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.concurrency import run_in_threadpool
from uvicorn.supervisors import Multiprocess

from signoff.metrics import SignoffCollector

log = structlog.get_logger("signoff.bot")
EVENTS_PATH = "/slack/events"
BACKLOG = 2048


def slack_router(bolt: App) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.post(EVENTS_PATH)
    async def slack_events(request: Request) -> Response:
        # Bolt parses the timestamp as an integer; anything else is an unsigned request, not a server error.
        if not request.headers.get("x-slack-request-timestamp", "").isdigit():
            return JSONResponse({"error": "invalid request"}, status_code=401)
        body = await request.body()
        response = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
        return to_starlette_response(response)

    return router


def health_router(ping: Callable[[], object]) -> APIRouter:
    """`ping` asks the store whether it answers."""
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    @router.get("/health")
    async def health() -> Response:
        try:
            healthy = bool(await run_in_threadpool(ping))
        except Exception:  # any failure to reach Redis is "unhealthy", not a crash
            healthy = False
        return JSONResponse({"ok": healthy, "redis": healthy}, status_code=200 if healthy else 503)

    return router


def metrics_router(connection: redis.Redis, token: str | None) -> APIRouter:
    """`GET /metrics` in Prometheus's text format; with `token` (SIGNOFF_METRICS_TOKEN), only for a scraper
    that sends it as a bearer token."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SignoffCollector(connection))
    router = APIRouter(include_in_schema=False)

    @router.get("/metrics")
    async def metrics(request: Request) -> Response:
        sent = request.headers.get("authorization", "")
        if token is not None and not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        try:
            body = await run_in_threadpool(generate_latest, registry)
        except redis.RedisError:
            return JSONResponse({"error": "redis unreachable"}, status_code=503)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return router


def create_web_app(bolt: App, ping: Callable[[], object]) -> FastAPI:
    """Slack's routes alone (the benchmarks' plain-Bolt baseline serves its no-op app this way)."""
    web = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    web.include_router(slack_router(bolt))
    web.include_router(health_router(ping))
    return web


class _Server(uvicorn.Server):
    """Says where it listens once the socket is bound, so whoever waits for it can send at once."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            log.info("bot_listening", url=f"http://{host}:{port}{EVENTS_PATH}")


def _config(web: Any, host: str, port: int, **extra: Any) -> uvicorn.Config:
    return uvicorn.Config(web, host=host, port=port, backlog=BACKLOG, log_config=None, access_log=False,
                          timeout_graceful_shutdown=10, **extra)


def serve(web: Any, host: str, port: int) -> None:
    asyncio.run(_Server(_config(web, host, port)).serve())


def serve_workers(factory: str, host: str, port: int, workers: int) -> None:
    """Several processes behind one port; each builds the app from `factory` ("module:function")."""
    config = _config(factory, host, port, factory=True, workers=workers)
    sock = config.bind_socket()
    log.info("bot_listening", url=f"http://{host}:{port}{EVENTS_PATH}", workers=workers)
    Multiprocess(config, sockets=[sock]).run()
