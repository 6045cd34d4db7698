"""`signoff stats` over a million audit events: time, round trips and memory, against plain paging.

The history is written straight to a private Redis's audit stream in the store's own event format:
half the actions held for a person (requested, held, decided, started, succeeded), half let run
(requested, auto_approved, started, succeeded), over 30 days. The baseline is the same stream paged
through with XRANGE and nothing done with it, in the same run: the floor any reader pays.
Usage: python bench/stats.py [EVENTS]   (results also go to bench/results/stats.json)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import private_redis, run

ROOT = Path(__file__).resolve().parent.parent
RULES = ("customer-email", "refunds", "crm-updates", "deletions")
PEOPLE = ("slack:U0ALICE", "slack:U0BOB", "slack:U0CAROL", "slack:U0DAN")


def _event(action_id: str, step: str, actor: str, **fields: Any) -> str:
    # The store's own encoding (signoff.audit.encode_event), written without pydantic for speed.
    return json.dumps({"action_id": action_id, "step": step, "actor": actor, **fields}, separators=(",", ":"))


def _fill(connection: Any, events: int, start: datetime) -> int:
    from signoff.keys import AUDIT_STREAM

    ms = int(start.timestamp() * 1000)
    step_ms = int(30 * 86400 * 1000 / events)
    written, n = 0, 0
    pipe = connection.pipeline(transaction=False)

    def add(e: str, status_from: str) -> None:
        nonlocal ms, written
        ms += step_ms
        pipe.xadd(AUDIT_STREAM, {"e": e, "from": status_from}, id=f"{ms}-0")
        written += 1
        if written % 5000 == 0:
            pipe.execute()

    while written < events:
        action_id, held = f"{n:016x}", n % 2 == 0
        rule = RULES[n % len(RULES)] if held else "everything-else"
        add(_event(action_id, "requested", "agent:support-bot", status_to="received", type="send_email",
                   params_after={"to": f"c{n}@client.com", "subject": "Your order", "body": "It shipped." * (n % 40)},
                   note="the customer asked"), "")
        if held:
            add(_event(action_id, "held", f"policy:{rule}", status_to="pending_approval", type="send_email",
                       rule=rule), "received")
            step = "rejected" if n % 50 == 0 else "approved"
            add(_event(action_id, step, PEOPLE[n % len(PEOPLE)], status_to=step), "pending_approval")
        else:
            add(_event(action_id, "auto_approved", f"policy:{rule}", status_to="approved", rule=rule), "received")
        if not held or n % 50:
            add(_event(action_id, "started", "worker:1", status_to="running"), "approved")
            add(_event(action_id, "succeeded", "worker", status_to="succeeded", result={"ok": True}), "running")
        n += 1
    pipe.execute()
    return written


def _plain_paging(connection: Any) -> tuple[float, int]:
    from signoff.audit import stream_pages
    from signoff.keys import AUDIT_STREAM

    began, pages = time.perf_counter(), 0
    for _ in stream_pages(connection, AUDIT_STREAM, "-", "+"):
        pages += 1
    return time.perf_counter() - began, pages


def main(events: int) -> dict[str, Any]:
    import redis

    from signoff.stats import approval_health

    with private_redis() as url:
        connection = redis.Redis.from_url(url)
        start = datetime.now(UTC) - timedelta(days=30)
        written = _fill(connection, events, start)
        baseline, pages = _plain_paging(connection)

        began = time.perf_counter()
        health = approval_health(connection, since=start - timedelta(minutes=1))
        in_process = time.perf_counter() - began

        tracemalloc.start()
        approval_health(connection, since=start - timedelta(minutes=1))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        env = {**os.environ, "REDIS_URL": url, "SIGNOFF_LOG_LEVEL": "warning"}
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "signoff_app.cli", "stats", "--since", "31d"], cwd=ROOT, env=env,
                       check=True, stdout=subprocess.DEVNULL)
        command = time.perf_counter() - began
    from signoff.stats import PAGE

    return {"events": written, "read": health.events, "stream_pages": pages,
            "stats_round_trips": -(-health.events // PAGE),
            "plain_paging_seconds": round(baseline, 3), "stats_seconds": round(in_process, 3),
            "ratio_to_plain_paging": round(in_process / baseline, 2),
            "signoff_stats_command_seconds": round(command, 3),
            "python_peak_mib": round(peak / 2**20, 1), "rules": len(health.rules), "reviewers": len(health.reviewers)}


def report(r: dict[str, Any]) -> str:
    return (f"{r['events']:,} audit events ({r['stream_pages']:,} pages of 1,000: one round trip each)\n"
            f"  plain XRANGE paging (baseline): {r['plain_paging_seconds']:.2f} s\n"
            f"  approval health, in process:    {r['stats_seconds']:.2f} s "
            f"({r['ratio_to_plain_paging']:.2f}x the baseline),"
            f" {r['stats_round_trips']:,} round trips, {r['python_peak_mib']} MiB peak Python memory\n"
            f"  `signoff stats --since 31d`:    {r['signoff_stats_command_seconds']:.2f} s, whole command "
            f"(target: under 5 s)")


if __name__ == "__main__":
    run("stats", main, report, [1_000_000])
