"""Retention: history older than `SIGNOFF_RETENTION` leaves Redis for dated JSONL.gz files.

Finished actions and audit entries older than the cut are appended to files named by their own
day (`actions-2025-10-01.jsonl.gz`, `audit-2025-10-01.jsonl.gz`) under `SIGNOFF_ARCHIVE_DIR`,
flushed to disk, and only then removed from Redis. A crash in between exports some records twice
on the next run; none is ever removed unexported. Waiting and running actions are never archived.
"""

from __future__ import annotations

import gzip
import json
import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, cast

from signoff.audit import decode_entry, entry_time, since_id
from signoff.keys import AUDIT_STREAM, PREFIX, action_key
from signoff.models import FINAL, Action
from signoff.runtime import Runtime
from signoff.store import ALL_INDEX, UNATTENDED_FEED, status_index

#: Where `signoff audit` learns that older history was archived, and where to.
ARCHIVED = f"{PREFIX}:archived"
PAGE = 1000


@dataclass
class Archived:
    actions: int = 0
    audit_entries: int = 0


def archive(rt: Runtime, before: datetime, directory: Path) -> Archived:
    """Moves finished actions created, and audit entries written, before `before` to `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    done = Archived(audit_entries=_archive_audit(rt, before, directory),
                    actions=_archive_actions(rt, before, directory))
    # The digests' feed is derived from the audit log: older entries are dropped, not exported.
    rt.connection.xtrim(UNATTENDED_FEED, minid=since_id(before), approximate=False)
    if done.actions or done.audit_entries:
        rt.connection.hset(ARCHIVED, mapping={"before": before.isoformat(), "dir": str(directory.resolve())})
    return done


def archived_before(rt: Runtime) -> tuple[datetime, str] | None:
    """(the cut of the last archive run, its directory), if history was ever archived."""
    raw = cast(dict[bytes, bytes], rt.connection.hgetall(ARCHIVED))
    if not raw:
        return None
    return datetime.fromisoformat(raw[b"before"].decode()), raw[b"dir"].decode()


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


def _append(directory: Path, kind: str, lines_by_day: dict[str, list[str]]) -> None:
    for day, lines in lines_by_day.items():
        path = directory / f"{kind}-{day}.jsonl.gz"
        # Appending adds a gzip member: `gzip.open` and `zcat` read the members as one file.
        with open(path, "ab") as raw, gzip.GzipFile(fileobj=cast(IO[bytes], raw), mode="ab") as out:
            out.write("".join(lines).encode())
            out.flush()
            raw.flush()
            os.fsync(raw.fileno())


def _archive_audit(rt: Runtime, before: datetime, directory: Path) -> int:
    end = "(" + since_id(before)
    count = 0
    while True:
        page = cast(list[tuple[bytes, dict[bytes, bytes]]],
                    rt.connection.xrange(AUDIT_STREAM, min="-", max=end, count=PAGE))
        if not page:
            return count
        by_day: dict[str, list[str]] = defaultdict(list)
        for entry_id, fields in page:
            record = decode_entry(entry_id, fields)
            by_day[_day(entry_time(entry_id))].append(json.dumps(record) + "\n")
        _append(directory, "audit", by_day)
        # Written and flushed: now remove exactly these, everything up to the last id exported.
        last_ms, last_seq = (int(p) for p in page[-1][0].split(b"-"))
        rt.connection.xtrim(AUDIT_STREAM, minid=f"{last_ms}-{last_seq + 1}", approximate=False)
        count += len(page)


def _archive_actions(rt: Runtime, before: datetime, directory: Path) -> int:
    count, offset = 0, 0
    while True:
        ids = [i.decode() for i in cast(list[bytes], rt.connection.zrangebyscore(
            ALL_INDEX, "-inf", f"({before.timestamp()}", start=offset, num=PAGE))]
        if not ids:
            return count
        finished = [a for a in rt.store.get_many(ids) if a.status in FINAL]
        offset += len(ids) - len(finished)  # what stays (waiting, running) is stepped over next time
        if finished:
            _export_actions(directory, finished)
            _remove(rt, finished)
            count += len(finished)


def _export_actions(directory: Path, actions: Iterable[Action]) -> None:
    by_day: dict[str, list[str]] = defaultdict(list)
    for action in actions:
        by_day[_day(action.created_at)].append(action.model_dump_json() + "\n")
    _append(directory, "actions", by_day)


def _remove(rt: Runtime, actions: list[Action]) -> None:
    with rt.connection.pipeline() as pipe:
        for action in actions:
            pipe.delete(action_key(action.id))
            pipe.zrem(ALL_INDEX, action.id)
            pipe.zrem(status_index(action.status), action.id)
        pipe.execute()
