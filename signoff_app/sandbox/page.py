"""The sandbox's own routes: the page that looks like a Slack channel, and what its clicks do.

Every click or submission on the page becomes the same signed payload Slack would send the bot.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import asdict
from email.message import Message as EmailMessage
from importlib.resources import files
from typing import Any, Protocol

from signoff_app.sandbox.interactions import Interactions
from signoff_app.sandbox.workspace import Workspace


class SlackSandbox(Protocol):
    """What the page needs of the sandbox: the workspace it shows, the calls it counts, the clicks it sends."""

    workspace: Workspace
    calls: list[Any]
    interactions: Interactions
    page_token: str

    @property
    def url(self) -> str: ...


Handled = tuple[int, str, bytes] | None
Headers = Mapping[str, str] | EmailMessage  # http.server's headers: case-insensitive lookups
JSON = "application/json; charset=utf-8"


def _json(payload: Any, status: int = 200) -> Handled:
    return status, JSON, json.dumps(payload).encode()


def state(sandbox: SlackSandbox, user: str) -> dict[str, Any]:
    """What `user` sees: their channels and messages (ephemeral ones only if meant for them), and their modal."""
    ws = sandbox.workspace
    with ws.lock:
        channels = [c for c in ws.channels.values() if user in c.members]
        visible = {c.id for c in channels}
        messages = [asdict(m) for m in ws.messages
                    if m.channel in visible and (m.ephemeral_to is None or m.ephemeral_to == user)]
        view = next(({"id": v.id, **v.view} for v in reversed(list(ws.views.values()))
                     if v.user == user and not v.closed and v.view.get("type") != "home"), None)
        home = ws.views.get(ws.homes.get(user, ""))
        return {
            "me": user,
            "users": [{"id": u.id, "name": u.name, "real_name": u.real_name, "is_bot": u.is_bot}
                      for u in ws.users.values()],
            "usergroups": {gid: handle for gid, (handle, _) in ws.usergroups.items()},
            "channels": [{"id": c.id, "name": c.name, "is_im": c.is_im, "members": c.members} for c in channels],
            "messages": messages,
            "view": view,
            "home": {"id": home.id, **home.view} if home else None,
            "version": len(sandbox.calls) + len(ws.messages),
        }


def _click(sandbox: SlackSandbox, args: dict[str, Any]) -> Handled:
    which = {"block_id": args.get("block_id"), "selected": args.get("selected")}
    if args.get("view_id"):
        status, body = sandbox.interactions.click_in_view(args["view_id"], args["action_id"], args["user"], **which)
        return _json({"ok": status == 200, "status": status, "body": body})
    message = next((m for m in sandbox.workspace.messages
                    if m.channel == args["channel"] and m.ts == args["ts"]), None)
    if message is None:
        return _json({"ok": False, "error": "message_not_found"}, 404)
    status, body = sandbox.interactions.click(message, args["action_id"], args["user"], **which)
    return _json({"ok": status == 200, "status": status, "body": body})


def _home(sandbox: SlackSandbox, args: dict[str, Any]) -> Handled:
    status, _ = sandbox.interactions.open_home(args["user"])
    return _json({"ok": status == 200, "status": status})


def _submit(sandbox: SlackSandbox, args: dict[str, Any]) -> Handled:
    status, body = sandbox.interactions.submit(args["view_id"], args["user"], args.get("values") or {})
    reply = json.loads(body) if body.strip().startswith("{") else {}
    return _json({"ok": status == 200, "status": status, "errors": reply.get("errors", {})})


def _close(sandbox: SlackSandbox, args: dict[str, Any]) -> Handled:
    view = sandbox.workspace.views.get(args["view_id"])
    if view is not None:
        view.closed = True
    return _json({"ok": True})


def _command(sandbox: SlackSandbox, args: dict[str, Any]) -> Handled:
    status, _ = sandbox.interactions.command(args.get("text", ""), args["user"], args.get("channel") or "C0APPROVALS")
    return _json({"ok": status == 200, "status": status})


_ACTIONS = {"/ui/click": _click, "/ui/submit": _submit, "/ui/close": _close, "/ui/command": _command,
            "/ui/home": _home}


def _trusted(sandbox: SlackSandbox, headers: Headers) -> bool:
    """The page's own requests: its token, and no Origin but the sandbox's (a browser always sends it on
    a cross-site POST, and a page elsewhere cannot read this page to learn the token)."""
    origin = headers.get("Origin")
    if origin is not None and origin.rstrip("/") != sandbox.url.rstrip("/"):
        return False
    return secrets.compare_digest(headers.get("X-Sandbox-Token") or "", sandbox.page_token)


def handle(sandbox: SlackSandbox, verb: str, path: str, args: dict[str, Any],
           headers: Headers) -> Handled:
    if path == "/healthz":
        return _json({"ok": True})
    if verb == "GET" and path in ("/", "/index.html"):
        page = files("signoff_app.sandbox").joinpath("page.html").read_bytes()
        return 200, "text/html; charset=utf-8", page.replace(b"{{SANDBOX_TOKEN}}", sandbox.page_token.encode())
    if path.startswith("/ui/") and not _trusted(sandbox, headers):
        return _json({"ok": False, "error": "forbidden: not the sandbox page"}, 403)
    if verb == "GET" and path == "/ui/state":
        return _json(state(sandbox, args.get("user") or "U0ALICE"))
    if verb == "POST" and path in _ACTIONS:
        return _ACTIONS[path](sandbox, args)
    if verb == "POST" and path.startswith("/response/"):
        _, _, channel_id, user_id = path.split("/", 3)
        sandbox.interactions.record_response(channel_id, user_id, args)
        return _json({"ok": True})
    return None
