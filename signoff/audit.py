"""The append-only audit log: one Redis stream entry per transition, mirrored to structlog."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import cast

import redis

from signoff.logging import log
from signoff.models import AuditEvent

AUDIT_STREAM = "signoff:audit"

CSV_COLUMNS = list(AuditEvent.model_fields)


def encode_event(event: AuditEvent) -> str:
    payload = event.model_dump(mode="json", exclude={"id", "status_from"}, exclude_none=True)
    log.info("audit", **payload)
    return json.dumps(payload, separators=(",", ":"))


def _entries(connection: redis.Redis, start: str, end: str) -> Iterator[AuditEvent]:
    """Stream entries from `start` to `end` (XRANGE bounds), a thousand at a time."""
    while True:
        batch = cast(list[tuple[bytes, dict[bytes, bytes]]],
                     connection.xrange(AUDIT_STREAM, min=start, max=end, count=1000))
        for entry_id, fields in batch:
            yield AuditEvent.model_validate(
                {**json.loads(fields[b"e"]), "id": entry_id.decode(), "status_from": fields[b"from"].decode() or None})
        if len(batch) < 1000:
            return
        start = "(" + batch[-1][0].decode()


def read_events(
    connection: redis.Redis, since: datetime | None = None, action_id: str | None = None
) -> Iterator[AuditEvent]:
    start = f"{int(since.timestamp() * 1000)}-0" if since else "-"
    return (e for e in _entries(connection, start, "+") if action_id is None or e.action_id == action_id)


def read_events_after(connection: redis.Redis, after: str, until: str) -> Iterator[AuditEvent]:
    """Events with stream ids after `after` (exclusive; "" for the start) up to `until` (inclusive)."""
    return _entries(connection, f"({after}" if after else "-", until) if until else iter(())


def export(events: Iterator[AuditEvent], fmt: str) -> str:
    if fmt == "jsonl":
        return "".join(event.model_dump_json(exclude_none=True) + "\n" for event in events)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for event in events:
        row = event.model_dump(mode="json")
        writer.writerow({k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()})
    return buffer.getvalue()
