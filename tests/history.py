"""A made-up decision history written straight to the audit stream, at fixed times (explicit entry ids),
as the store writes it: for approval-health figures computed by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis

from signoff.audit import encode_event
from signoff.keys import AUDIT_STREAM
from signoff.models import AuditEvent

START = datetime(2026, 10, 1, tzinfo=UTC)  # the window the tests ask about starts here
START_MS = int(START.timestamp() * 1000)


@dataclass
class History:
    entries: list[tuple[int, AuditEvent, str]] = field(default_factory=list)  # (ms, event, status before)

    def add(self, seconds: float, action_id: str, step: str, actor: str, status_from: str = "",
            **fields: Any) -> None:
        self.entries.append((START_MS + int(seconds * 1000), AuditEvent(action_id=action_id, step=step, actor=actor,
                                                                        **fields), status_from))

    def held(self, action_id: str, at: float, *, rule: str, type: str = "send_email", agent: str = "bot-1",
             params: dict[str, Any] | None = None, reason: str = "asked", friction: str | None = None) -> None:
        self.add(at, action_id, "requested", f"agent:{agent}", status_to="received", type=type,
                 params_after=params or {"to": "a@acme.com"}, note=reason)
        self.add(at, action_id, "held", f"policy:{rule}", "received", status_to="pending_approval",
                 rule=rule, type=type, friction=friction)

    def decided(self, action_id: str, at: float, step: str, by: str, **fields: Any) -> None:
        self.add(at, action_id, step, by, "pending_approval", **fields)

    def ran_alone(self, action_id: str, at: float, rule: str = "everything-else") -> None:
        self.add(at, action_id, "requested", "agent:bot-1", type="lookup", params_after={"q": "x"}, note="why")
        self.add(at + 0.001, action_id, "auto_approved", f"policy:{rule}", "received", rule=rule)
        self.add(at + 0.002, action_id, "started", "worker:1", "approved")
        self.add(at + 0.003, action_id, "succeeded", "worker", "running")

    def write(self, connection: redis.Redis) -> int:
        """Appends the events in time order, each at its own time; returns how many."""
        ordered = sorted(self.entries, key=lambda entry: entry[0])
        with connection.pipeline(transaction=False) as pipe:
            for index, (ms, event, status_from) in enumerate(ordered):
                pipe.xadd(AUDIT_STREAM, {"e": encode_event(event), "from": status_from}, id=f"{ms}-{index}")
                if index % 5000 == 4999:
                    pipe.execute()
            pipe.execute()
        return len(ordered)
