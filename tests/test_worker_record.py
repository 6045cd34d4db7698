"""The record RQ's own tools read of a Signoff worker (`rq info`, dashboards), which Signoff's
workers keep in fewer round trips than RQ's: alive, idle between jobs, counting what it did."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rq import Worker

from signoff import Status
from tests.actions import update_crm
from tests.helpers import when_key_changes


@pytest.mark.parametrize("args", [(), ("--no-fork",)], ids=["forking", "no-fork"])
def test_rq_sees_the_worker_alive_idle_and_counting_its_jobs(rt, workers, args) -> None:
    process = workers.start(args=args)
    for n in range(3):
        ticket = update_crm.request(record_id=str(n), field="stage", value="won", agent="crm-bot", reason="r")
        assert ticket.wait(timeout=20).status == Status.SUCCEEDED

    [registered] = [w for w in Worker.all(connection=rt.connection) if w.pid == process.pid]

    def record() -> Worker | None:
        registered.refresh()
        done = registered.successful_job_count == 3 and registered.get_state() == "idle"
        return registered if done else None

    mine = when_key_changes(rt, registered.key, record, "the worker's record shows its three jobs, and idle")
    assert mine.last_heartbeat is not None
    assert (datetime.now(UTC) - mine.last_heartbeat.replace(tzinfo=UTC)).total_seconds() < 30
    assert rt.connection.ttl(mine.key) > 60  # its heartbeats keep it alive for minutes
    assert mine.get_current_job_id() is None
