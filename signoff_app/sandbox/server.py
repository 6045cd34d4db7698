"""The sandbox's HTTP server: the Web API under /api/, faults on demand, signed interactions out, and
the agents' HTTP API (`/api/v1/`, which no Slack method name starts with) passed on to the web process,
so a newcomer reaches everything at one address."""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from slack_sdk.signature import SignatureVerifier

from signoff_app.sandbox import page
from signoff_app.sandbox.api import WebApi
from signoff_app.sandbox.interactions import Interactions
from signoff_app.sandbox.workspace import Workspace

LOOPBACK = "127.0.0.1"  # the sandbox never listens beyond this machine
AGENT_API = "/api/v1/"
API_TIMEOUT = 75.0  # above the API's longest long-poll (60 s)


@dataclass
class Fault:
    kind: str  # "ratelimited" (HTTP 429 with Retry-After), "lost_reply" (done, then HTTP 500), or an error name
    retry_after: int = 0


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    status: int
    reply: dict[str, Any]


@dataclass
class SlackSandbox:
    token: str = "xoxb-sandbox-token"
    signing_secret: str = "sandbox-signing-secret"
    bot_url: str = "http://127.0.0.1:3000/slack/events"
    workspace: Workspace = field(default_factory=Workspace.default)
    calls: list[Call] = field(default_factory=list)
    faults: dict[str, deque[Fault]] = field(default_factory=dict)
    server: ThreadingHTTPServer | None = None
    changed: threading.Condition = field(default_factory=threading.Condition)
    page_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))  # the page's /ui/ calls carry it

    def __post_init__(self) -> None:
        self.api = WebApi(self.workspace)
        self.interactions = Interactions(self)

    # Life ------------------------------------------------------------------------------------
    def start(self, port: int = 0) -> SlackSandbox:
        self.server = ThreadingHTTPServer((LOOPBACK, port), _handler_for(self))
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="slack-sandbox", daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    @property
    def port(self) -> int:
        assert self.server is not None, "start() the sandbox first"
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/"

    @property
    def api_url(self) -> str:
        """What SLACK_API_URL is set to, so slack-sdk's WebClient talks to the sandbox."""
        return f"{self.url}api/"

    # Faults and records ------------------------------------------------------------------------
    def rate_limit(self, method: str, times: int, retry_after: int = 0) -> None:
        self.faults.setdefault(method, deque()).extend(Fault("ratelimited", retry_after) for _ in range(times))

    def lose_reply(self, method: str, times: int = 1) -> None:
        self.faults.setdefault(method, deque()).extend(Fault("lost_reply") for _ in range(times))

    def fail(self, method: str, error: str, times: int = 1) -> None:
        self.faults.setdefault(method, deque()).extend(Fault(error) for _ in range(times))

    def calls_to(self, method: str, ok: bool | None = None) -> list[Call]:
        return [c for c in list(self.calls) if c.method == method and (ok is None or c.reply.get("ok") == ok)]

    def wait_for(self, predicate: Any, timeout: float = 30.0, recheck: float | None = None) -> Any:
        """Blocks until `predicate()` is truthy after some API call, or raises on timeout.

        `recheck` also re-evaluates it that often without a call: for a predicate that itself moves
        time forward (releasing RQ's scheduled jobs), whose effect may not be due at the first look.
        """
        deadline = time.monotonic() + timeout
        with self.changed:
            while not (result := predicate()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("the sandbox did not see the expected Slack calls in time")
                self.changed.wait(min(remaining, recheck) if recheck else remaining)
        return result

    # Serving -------------------------------------------------------------------------------------
    def handle_api(self, method: str, args: dict[str, Any], authorization: str) -> tuple[int, dict[str, str], dict]:
        queue = self.faults.get(method)
        fault = queue.popleft() if queue else None
        if authorization != f"Bearer {self.token}" and args.get("token") != self.token:
            status, headers, reply = 200, {}, {"ok": False, "error": "invalid_auth"}
        elif fault and fault.kind == "lost_reply":  # Slack did it, but the answer never arrived
            self.api.call(method, args)
            status, headers, reply = 500, dict[str, str](), {"ok": False, "error": "fatal_error"}
        elif fault and fault.kind == "ratelimited":
            status, headers, reply = 429, {"Retry-After": str(fault.retry_after)}, {"ok": False,
                                                                                  "error": "ratelimited"}
        elif fault:
            status, headers, reply = 200, {}, {"ok": False, "error": fault.kind}
        else:
            status, headers, reply = 200, {}, self.api.call(method, args)
        with self.changed:
            self.calls.append(Call(method, args, status, reply))
            self.changed.notify_all()
        return status, headers, reply

    @property
    def bot_base(self) -> str:
        parts = urllib.parse.urlsplit(self.bot_url)
        return f"{parts.scheme}://{parts.netloc}"

    def forward(self, method: str, path: str, body: bytes, headers: Any) -> tuple[int, dict[str, str], bytes]:
        """An agent's API request, to the web process and back, headers that matter included."""
        wanted = ("Authorization", "Content-Type", "Idempotency-Key", "Accept")
        request = urllib.request.Request(self.bot_base + path, data=body if method != "GET" else None, method=method,
                                         headers={k: headers[k] for k in wanted if headers.get(k)})
        try:
            with urllib.request.urlopen(request, timeout=API_TIMEOUT) as response:
                status, got, payload = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, got, payload = error.code, error.headers, error.read()
        except OSError:
            problem = {"title": "Signoff's web process is not answering (still starting?): try again in a moment",
                       "status": 503}
            return 503, {"Content-Type": "application/problem+json", "Retry-After": "1"}, json.dumps(problem).encode()
        kept = {k: got[k] for k in ("Content-Type", "Retry-After", "Location") if got.get(k)}
        return status, kept, payload

    def sign(self, body: str, timestamp: int | None = None) -> dict[str, str]:
        """The headers Slack sends with every request to an app."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = SignatureVerifier(self.signing_secret).generate_signature(timestamp=stamp, body=body)
        return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": str(signature)}

    def send_to_bot(self, body: str, content_type: str, headers: dict[str, str] | None = None,
                    signed_at: int | None = None, timeout: float = 10.0) -> tuple[int, str]:
        """POSTs to the bot as Slack does; `headers` replace the signature, `signed_at` backdates it."""
        signature = headers if headers is not None else self.sign(body, signed_at)
        request = urllib.request.Request(self.bot_url, data=body.encode(), method="POST",
                                         headers={"Content-Type": content_type, **signature})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def _parse(handler: BaseHTTPRequestHandler) -> dict[str, Any]:
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(handler.path).query))
    length = int(handler.headers.get("Content-Length") or 0)
    raw = handler.rfile.read(length).decode() if length else ""
    if "json" in (handler.headers.get("Content-Type") or ""):
        body = json.loads(raw or "{}")
    else:
        body = dict(urllib.parse.parse_qsl(raw))
    return {**query, **body}


def _handler_for(sandbox: SlackSandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: tests and the demo read the recorded calls instead

        def _reply(self, status: int, payload: Any, headers: dict[str, str] | None = None,
                   content_type: str = "application/json; charset=utf-8") -> None:
            body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def _route(self) -> None:
            path = urllib.parse.urlsplit(self.path).path
            if path.startswith(AGENT_API):
                length = int(self.headers.get("Content-Length") or 0)
                status, headers, body = sandbox.forward(self.command, self.path, self.rfile.read(length), self.headers)
                self._reply(status, body, {k: v for k, v in headers.items() if k != "Content-Type"},
                            content_type=headers.get("Content-Type", "application/json"))
                return
            if path.startswith("/api/"):
                status, headers, reply = sandbox.handle_api(path[len("/api/"):], _parse(self),
                                                            self.headers.get("Authorization") or "")
                self._reply(status, reply, headers)
                return
            handled = page.handle(sandbox, self.command, path, _parse(self), self.headers)
            if handled is None:
                self._reply(HTTPStatus.NOT_FOUND, {"ok": False, "error": "not_found"})
            else:
                status, content_type, body = handled
                self._reply(status, body, content_type=content_type)

        do_GET = do_POST = _route

    return Handler
