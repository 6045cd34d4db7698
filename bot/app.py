"""The Bolt app, and how it is served: HTTP (with a health check) or Socket Mode."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import structlog
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.authz import MembershipCache
from bot.client import web_client
from bot.listeners import register
from signoff.errors import SignoffError
from signoff.runtime import Runtime

log = structlog.get_logger("signoff.bot")
EVENTS_PATH = "/slack/events"


def build_app(rt: Runtime) -> App:
    settings = rt.settings
    if settings.slack_signing_secret is None:
        raise SignoffError("SLACK_SIGNING_SECRET is not set: Slack requests could not be verified")
    client = web_client(settings)
    app = App(client=client, signing_secret=settings.slack_signing_secret.get_secret_value(),
              # Bolt verifies each request's signature and its 5-minute timestamp window.
              request_verification_enabled=True)
    register(app, rt, MembershipCache(client))
    return app


def wsgi(app: App, rt: Runtime) -> Callable[..., Iterable[bytes]]:
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == EVENTS_PATH:
            return slack(environ, start_response)
        if path in ("/healthz", "/health"):
            try:
                healthy = bool(rt.connection.ping())
            except Exception:  # any failure to reach Redis is "unhealthy", not a crash
                healthy = False
            body = json.dumps({"ok": healthy, "redis": healthy}).encode()
            start_response("200 OK" if healthy else "503 Service Unavailable", [("Content-Type", "application/json")])
            return [body]
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [b'{"ok": false, "error": "not_found"}']

    return application


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http", line=format % args)


def serve_wsgi(application: Callable[..., Iterable[bytes]], host: str, port: int) -> None:
    """A threaded WSGI server: each Slack request gets its own thread, so one slow request blocks none."""
    server = make_server(host, port, application, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
    log.info("bot_listening", url=f"http://{host}:{server.server_port}{EVENTS_PATH}")
    server.serve_forever()


def serve_http(rt: Runtime, host: str, port: int) -> None:
    serve_wsgi(wsgi(build_app(rt), rt), host, port)


def serve_socket_mode(rt: Runtime) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    if rt.settings.slack_app_token is None:
        raise SignoffError("SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token (xapp-…) "
                           "with the connections:write scope")
    SocketModeHandler(build_app(rt), rt.settings.slack_app_token.get_secret_value()).start()
