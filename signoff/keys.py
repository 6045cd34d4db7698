"""The names of Signoff's own Redis keys that more than one module reads."""

from __future__ import annotations

PREFIX = "signoff"
AUDIT_STREAM = f"{PREFIX}:audit"


def action_key(action_id: str) -> str:
    return f"{PREFIX}:action:{action_id}"
