"""The Bolt app, and how it is served: HTTP on uvicorn (with a health check) or Socket Mode."""

from __future__ import annotations

import structlog
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.authz import MembershipCache
from bot.client import web_client
from bot.listeners import register
from signoff.errors import SignoffError
from signoff.runtime import Runtime

log = structlog.get_logger("signoff.bot")


def build_app(rt: Runtime) -> App:
    settings = rt.settings
    if settings.slack_signing_secret is None:
        raise SignoffError("SLACK_SIGNING_SECRET is not set: Slack requests could not be verified")
    rt.require_decision_key()  # a bot that cannot sign decisions must not start
    client = web_client(settings)
    app = App(client=client, signing_secret=settings.slack_signing_secret.get_secret_value(),
              # Bolt verifies each request's signature and its 5-minute timestamp window.
              request_verification_enabled=True)
    register(app, rt, MembershipCache(client))
    return app


def serve_socket_mode(rt: Runtime) -> None:
    if rt.settings.slack_app_token is None:
        raise SignoffError("SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token (xapp-…) "
                           "with the connections:write scope")
    SocketModeHandler(build_app(rt), rt.settings.slack_app_token.get_secret_value()).start()
