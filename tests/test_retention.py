"""Retention: history past SIGNOFF_RETENTION moves to dated JSONL.gz files; nothing is lost on the way."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from signoff import Signoff, Status
from signoff.audit import read_events
from signoff.retention import archive
from tests.actions import send_email, update_crm
from tests.conftest import ROOT
from tests.helpers import wait_status


def _read(directory: Path, kind: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for path in sorted(directory.glob(f"{kind}-*.jsonl.gz")):
        with gzip.open(path, "rt") as lines:
            records += [json.loads(line) for line in lines]
    return records


def test_archiving_exports_then_trims_and_loses_nothing(rt, worker, tmp_path) -> None:
    ran = update_crm.request(record_id="r1", field="stage", value="won", agent="crm-bot", reason="deal closed")
    waiting = send_email.request(to="sarah@client.com", subject="Q3", body="b", agent="finance-bot", reason="r")
    wait_status(rt, ran.id, Status.SUCCEEDED)
    wait_status(rt, waiting.id, Status.PENDING_APPROVAL)
    before = [e.model_dump(mode="json", exclude_none=True) for e in read_events(rt.connection)]

    cut = datetime.now(UTC) + timedelta(seconds=1)  # everything so far is "older than the retention"
    done = archive(rt, cut, tmp_path)

    # Every audit entry is in a dated file, and gone from Redis; the finished action too.
    assert done.audit_entries == len(before) and list(read_events(rt.connection)) == []
    archived = _read(tmp_path, "audit")
    assert [{k: v for k, v in e.items() if v not in (None, "")} for e in archived] == \
           [{k: v for k, v in e.items() if v not in (None, "")} for e in before]
    assert (tmp_path / f"audit-{datetime.now(UTC):%Y-%m-%d}.jsonl.gz").exists()
    assert [a["id"] for a in _read(tmp_path, "actions")] == [ran.id] and done.actions == 1
    assert Signoff(connection=rt.connection).actions() == [rt.store.get(waiting.id)]
    # The waiting action stays, is still decided and runs; its new events land in Redis.
    Signoff(connection=rt.connection).decide(waiting.id, "approve", by="slack:U0BOB")
    wait_status(rt, waiting.id, Status.SUCCEEDED)
    assert [e.step for e in read_events(rt.connection)] == ["approved", "started", "succeeded"]
    # A second run later appends to the same day's files (gzip members) and still loses nothing.
    assert archive(rt, datetime.now(UTC) + timedelta(seconds=1), tmp_path).actions == 1
    assert len(_read(tmp_path, "audit")) == len(before) + 3


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "signoff_app.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=60)


def test_signoff_audit_says_where_older_history_went(rt, worker, tmp_path) -> None:
    ran = update_crm.request(record_id="r1", field="stage", value="won", agent="crm-bot", reason="deal closed")
    wait_status(rt, ran.id, Status.SUCCEEDED)
    assert "SIGNOFF_RETENTION" in _cli("archive").stderr  # nothing to archive by: says what to set
    done = _cli("archive", "--older-than", "0s", SIGNOFF_ARCHIVE_DIR=str(tmp_path))
    assert done.returncode == 0 and f"to {tmp_path}" in done.stdout
    shown = _cli("audit")
    assert shown.returncode == 0 and f"is archived in {tmp_path}" in shown.stderr
