"""The Bolt app, and how it is served: HTTP on uvicorn (with a health check) or Socket Mode."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.error import URLError

import structlog
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.error import BoltError
from slack_sdk.errors import SlackApiError

from bot.authz import MembershipCache
from bot.client import web_client
from bot.listeners import register
from signoff.errors import SignoffError
from signoff.runtime import Runtime

log = structlog.get_logger("signoff.bot")


@contextmanager
def _bolt_sees_no_token_variable() -> Iterator[None]:
    """Bolt reads SLACK_BOT_TOKEN itself and, given our client too, warns on every start that the
    token goes unused: our client (Slack's base URL, retries) already carries it."""
    saved = os.environ.pop("SLACK_BOT_TOKEN", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["SLACK_BOT_TOKEN"] = saved


@contextmanager
def _slack_unreachable_in_one_line(rt: Runtime) -> Iterator[None]:
    try:
        yield
    except (URLError, OSError, SlackApiError, BoltError) as exc:
        reason = exc.response.get("error") if isinstance(exc, SlackApiError) else getattr(exc, "reason", exc)
        raise SignoffError(f"cannot reach Slack at {rt.settings.slack_api_url} ({reason}): check the network, "
                           "SLACK_API_URL and the tokens") from None


def build_app(rt: Runtime, socket_mode: bool = False) -> App:
    settings = rt.settings
    if settings.slack_signing_secret is None and not socket_mode:
        raise SignoffError("SLACK_SIGNING_SECRET is not set: Slack requests could not be verified "
                           "(Socket Mode, `signoff bot --socket`, does not need it)")
    rt.require_decision_key()  # a bot that cannot sign decisions must not start
    client = web_client(settings)
    with _bolt_sees_no_token_variable(), _slack_unreachable_in_one_line(rt):
        # Over HTTP, Bolt verifies each request's signature and its 5-minute timestamp window; Socket
        # Mode's requests come over the connection the app token opened, which Slack authenticates.
        # Bolt checks the token with auth.test here.
        app = App(client=client, request_verification_enabled=not socket_mode,
                  signing_secret=settings.slack_signing_secret.get_secret_value()
                  if settings.slack_signing_secret else "")
    register(app, rt, MembershipCache(client))
    return app


def serve_socket_mode(rt: Runtime) -> None:
    if rt.settings.slack_app_token is None:
        raise SignoffError("SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token (xapp-…) "
                           "with the connections:write scope")
    handler = SocketModeHandler(build_app(rt, socket_mode=True), rt.settings.slack_app_token.get_secret_value())
    with _slack_unreachable_in_one_line(rt):
        handler.connect()
    log.info("bot_listening", mode="socket")
    threading.Event().wait()  # what Bolt's start() does after connecting: the connection lives in its threads
