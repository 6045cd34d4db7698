"""The append-only audit log: one Redis stream entry per transition, mirrored to structlog.

Reads cost what they return: the whole log and `since` are read a page at a time, and one action's
events are read by the entry ids its own record keeps (see `signoff.store`), never by a scan.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, TextIO, cast

import redis

from signoff.keys import AUDIT_STREAM, action_key
from signoff.logging import log
from signoff.models import AuditEvent

__all__ = ["AUDIT_STREAM", "decode_entry", "encode_event", "entry_time", "read_events", "stream_pages", "write_export"]
PAGE = 1000

CSV_COLUMNS = list(AuditEvent.model_fields)


def encode_event(event: AuditEvent) -> str:
    """The event as the stream keeps it. Its time is the stream entry's id (milliseconds, Redis's clock),
    not a copy of it: the log line has the exact time."""
    payload = event.model_dump(mode="json", exclude={"id", "status_from"}, exclude_none=True)
    log.info("audit", **payload)
    del payload["at"]
    return json.dumps(payload, separators=(",", ":"))


def entry_time(entry_id: bytes | str) -> datetime:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return datetime.fromtimestamp(int(text.split("-")[0]) / 1000, UTC)


def decode_entry(entry_id: bytes, fields: dict[bytes, bytes]) -> dict[str, Any]:
    """A stream entry as the event's fields (JSON-ready), its id and time included."""
    at = entry_time(entry_id).isoformat().replace("+00:00", "Z")
    return {"at": at, **json.loads(fields[b"e"]), "id": entry_id.decode(),
            "status_from": fields[b"from"].decode() or None}


def _event(entry_id: bytes, fields: dict[bytes, bytes]) -> AuditEvent:
    return AuditEvent.model_validate(decode_entry(entry_id, fields))


Entry = tuple[bytes, dict[bytes, bytes]]


def stream_pages(connection: redis.Redis, stream: str, start: str, end: str,
                 count: int = PAGE) -> Iterator[list[Entry]]:
    """A stream's entries from `start` to `end` (XRANGE bounds), a page at a time: memory stays the size
    of a page, whatever the stream holds."""
    while True:
        page = cast(list[Entry], connection.xrange(stream, min=start, max=end, count=count))
        yield page
        if len(page) < count:
            return
        start = "(" + page[-1][0].decode()


def since_id(since: datetime | None) -> str:
    """The first stream entry id at or after `since` ("-": the beginning)."""
    return f"{int(since.timestamp() * 1000)}-0" if since else "-"


def _entries(connection: redis.Redis, start: str, end: str) -> Iterator[AuditEvent]:
    for page in stream_pages(connection, AUDIT_STREAM, start, end):
        for entry_id, fields in page:
            yield _event(entry_id, fields)


def _of_action(connection: redis.Redis, action_id: str) -> Iterator[AuditEvent]:
    """One action's events, by the entry ids its record keeps: one read for the ids, one round trip
    for the entries, whatever the stream holds."""
    raw = cast(bytes | None, connection.get(action_key(action_id)))
    listed = json.loads(raw).get("audit", "") if raw else ""
    ids = listed.split(",") if listed else []
    with connection.pipeline(transaction=False) as pipe:
        for entry_id in ids:
            pipe.xrange(AUDIT_STREAM, min=entry_id, max=entry_id)
        for found in pipe.execute() if ids else []:
            for entry_id, fields in found:  # an entry trimmed by retention is in the archive instead
                yield _event(entry_id, fields)


def read_events(
    connection: redis.Redis, since: datetime | None = None, action_id: str | None = None
) -> Iterator[AuditEvent]:
    if action_id is not None:
        return (e for e in _of_action(connection, action_id) if since is None or e.at >= since)
    return _entries(connection, since_id(since), "+")


def write_export(events: Iterable[AuditEvent], fmt: str, out: TextIO) -> int:
    """Writes events as JSON lines or CSV as they are read (memory stays flat); returns how many."""
    count = 0
    writer = None if fmt == "jsonl" else csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    if writer is not None:
        writer.writeheader()
    for event in events:
        if writer is None:
            out.write(event.model_dump_json(exclude_none=True) + "\n")
        else:
            row = event.model_dump(mode="json")
            writer.writerow({k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()})
        count += 1
    return count
