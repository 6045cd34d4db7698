"""The web process, composed: Slack's events (bot), the agents' API (agent_api) and a health check,
on one FastAPI app served by uvicorn. The Procfile's `web` runs it as `signoff bot --http`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from agent_api.hub import TransitionHub
from agent_api.limits import BodyLimit
from agent_api.problems import ProblemError, on_invalid_request, on_problem
from agent_api.routes import BASE, api_router
from bot.app import build_app
from bot.web import health_router, metrics_router, slack_router
from signoff.connection import connect_async
from signoff.runtime import Runtime


def create_web(rt: Runtime) -> FastAPI:
    hub = TransitionHub(lambda: connect_async(rt.settings))

    @asynccontextmanager
    async def lifespan(_web: FastAPI) -> AsyncIterator[None]:
        await hub.start()
        yield
        await hub.stop()

    web = FastAPI(title="Signoff", version="1", summary="Human sign-off for AI agents' actions",
                  description="Agents ask, wait and report; people decide in Slack. An agent token never decides.",
                  openapi_url=f"{BASE}/openapi.json", docs_url=f"{BASE}/docs", redoc_url=None, lifespan=lifespan)
    web.state.runtime = rt
    web.include_router(slack_router(build_app(rt)))
    web.include_router(health_router(rt.connection.ping))
    token = rt.settings.metrics_token
    web.include_router(metrics_router(rt.connection, token.get_secret_value() if token else None))
    web.include_router(api_router(rt, hub))
    web.add_exception_handler(ProblemError, on_problem)
    web.add_exception_handler(RequestValidationError, on_invalid_request)
    web.add_middleware(BodyLimit)
    return web


def from_environment() -> FastAPI:
    """For uvicorn's own workers (`signoff bot --http --workers N`): each builds its app from the environment."""
    return create_web(Runtime())
