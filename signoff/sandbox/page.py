"""Routes besides the Web API: response_url replies (and, later, the sandbox's web page)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from signoff.sandbox.server import SlackSandbox

Handled = tuple[int, str, bytes] | None


def handle(sandbox: SlackSandbox, verb: str, path: str, args: dict[str, Any]) -> Handled:
    if path == "/healthz":
        return 200, "application/json", b'{"ok": true}'
    if verb == "POST" and path.startswith("/response/"):
        _, _, channel_id, user_id = path.split("/", 3)
        sandbox.interactions.record_response(channel_id, user_id, args)
        return 200, "application/json", json.dumps({"ok": True}).encode()
    return None
