"""The names of Signoff's own Redis keys that more than one module reads."""

from __future__ import annotations

PREFIX = "signoff"
AUDIT_STREAM = f"{PREFIX}:audit"
METRICS_KEY = f"{PREFIX}:metrics"  # operators' counters (see signoff.metrics), kept by the store's scripts


def action_key(action_id: str) -> str:
    return f"{PREFIX}:action:{action_id}"
