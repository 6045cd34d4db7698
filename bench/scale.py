"""Scale: what one action costs Redis, and reads with 100,000 pending actions and 600,000 audit entries.

Counts first (they do not depend on the machine's load), each beside plain RQ in the same run:
- Redis commands (the server's own count) and round trips (writes on the client's sockets) per
  action, end to end: auto-run, and approve-mode with its Slack messages (post, decision, outcome;
  the calls counted by the Slack sandbox), the decision made as the Slack app makes it;
- Redis memory per pending action, measured on actions that are pending (their approval posted),
  against an RQ job waiting in its queue.
Then, on the large history: `audit --action` (vs. the scan of the whole stream it replaced),
the first digest with 100,000 unseen items, `audit --since 24h --format csv` (time and peak memory
of the process), the true pending count.
Usage: python bench/scale.py [PENDING]   (default 100000, 0 skips the large history; results also go to
bench/results/scale.json)
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from redis.connection import AbstractConnection as Connection  # noqa: E402

from bench.common import APPROVE_ALL, private_redis, run  # noqa: E402

SAMPLE = 200  # actions per end-to-end count
AUTO_POLICY = ("allow_no_approval: true  # the auto path, on purpose\n"
               "runaway: {max_actions: 100000000, window: 60s}\nrules:\n  - {name: all, mode: auto}\n")


class Counted:
    """Redis commands (server side) and round trips (client socket writes) during a block."""

    def __init__(self, connection: redis.Redis) -> None:
        self.connection = connection
        self.commands = self.round_trips = 0
        self.redis_cpu_seconds = 0.0  # the server's own CPU (user + system), for the capacity model


@contextmanager
def counted(connection: redis.Redis) -> Iterator[Counted]:
    figures = Counted(connection)
    original = Connection.send_packed_command
    writes = [0]

    def send(self: Connection, command: Any, check_health: bool = True) -> None:
        writes[0] += 1
        original(self, command, check_health)

    def processed() -> int:
        return int(connection.info("stats")["total_commands_processed"])

    def cpu() -> float:
        info = connection.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    cpu_start = cpu()
    start = processed()
    Connection.send_packed_command = send  # type: ignore[method-assign]
    try:
        yield figures
    finally:
        Connection.send_packed_command = original  # type: ignore[method-assign]
        figures.round_trips = writes[0]
        figures.commands = processed() - start - 1  # the INFO that read the count
        figures.redis_cpu_seconds = cpu() - cpu_start


def _drain(rt: Any, queues: tuple[str, ...]) -> None:
    """Signoff's jobs on an in-process worker, as `signoff worker --no-fork` builds it (the baseline
    below is RQ's SimpleWorker)."""
    from bot.jobs import JOB_MODULES as BOT_JOBS
    from workers.job_class import JOB_MODULES
    from workers.worker import build_worker, prepare

    prepare(rt, job_modules=(*JOB_MODULES, *BOT_JOBS))
    build_worker(rt, queues, fork=False).work(burst=True, with_scheduler=False, logging_level="WARNING")


def plain_rq_per_job(connection: redis.Redis) -> dict[str, float]:
    from rq import Queue, SimpleWorker

    from bench.work import add

    queue = Queue("bench-plain", connection=connection)
    with counted(connection) as c:
        for i in range(SAMPLE):
            queue.enqueue(add, i, 1)
        SimpleWorker([queue], connection=connection).work(burst=True, with_scheduler=False, logging_level="WARNING")
    return {"commands": c.commands / SAMPLE, "round_trips": c.round_trips / SAMPLE,
            "redis_cpu_us": c.redis_cpu_seconds / SAMPLE * 1e6}


def _runtime(policy: str) -> Any:
    from signoff.config import get_settings
    from signoff.runtime import Runtime

    os.environ["SIGNOFF_POLICY"] = policy
    get_settings.cache_clear()
    return Runtime()


def auto_per_action(policy_path: str) -> dict[str, float]:
    from bench.work import bench_add
    from signoff.runtime import ACTIONS_QUEUE

    rt = _runtime(policy_path)
    _drain(rt, (ACTIONS_QUEUE,))  # imports and registrations are not per action
    with counted(rt.connection) as c:
        tickets = [bench_add.request(a=i, b=1, agent="bench", reason="benchmark") for i in range(SAMPLE)]
        _drain(rt, (ACTIONS_QUEUE,))
    assert bench_add.signoff.get(tickets[-1].id).status == "succeeded"
    return {"commands": c.commands / SAMPLE, "round_trips": c.round_trips / SAMPLE,
            "redis_cpu_us": c.redis_cpu_seconds / SAMPLE * 1e6}


def approve_per_action(sandbox: Any) -> dict[str, Any]:
    """Approve-mode end to end with the real processes: an agent's requests (this process), a
    `signoff worker` (routing, which posts the approval request; the run, which updates the message),
    and the Slack app (`signoff bot`) taking each reviewer's signed Approve click through the sandbox.
    Commands are the server's count; round trips are counted in every process (bench/instrument),
    start-up and shut-down included, spread over the actions."""
    import tempfile

    from bench.common import sandbox_env
    from bench.interaction import _port, _start, _stop
    from bench.work import bench_add
    from tests.slack_helpers import approval_message

    trips_dir = tempfile.mkdtemp(prefix="signoff-bench-trips-")
    env = {**sandbox_env(sandbox, policy=APPROVE_ALL), "SIGNOFF_BENCH_TRIPS_DIR": trips_dir,
           "PYTHONPATH": f"{ROOT / 'bench' / 'instrument'}:{ROOT}"}
    _runtime(APPROVE_ALL)
    connection = redis.Redis.from_url(os.environ["REDIS_URL"])
    calls_before = len(sandbox.calls)
    with counted(connection) as c:
        bot_port = _port()
        sandbox.bot_url = f"http://127.0.0.1:{bot_port}/slack/events"
        bot = _start(["-m", "signoff_app.cli", "bot", "--host", "127.0.0.1", "--port", str(bot_port)], env,
                     "bot_listening")
        worker = subprocess.Popen([sys.executable, "-m", "signoff_app.cli", "worker"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            tickets = [bench_add.request(a=i, b=1, agent="bench", reason="benchmark") for i in range(SAMPLE)]
            for ticket in tickets:
                message = approval_message(sandbox, ticket.id)
                status, _ = sandbox.interactions.click(message, "signoff_approve", "U0ALICE")
                assert status == 200, status
                sandbox.wait_for(lambda m=message: any(r.thread_ts == m.ts for r in sandbox.workspace.messages))
        finally:
            _stop(bot)
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
    assert bench_add.signoff.get(tickets[-1].id).status == "succeeded"
    children = sum(int(path.read_text()) for path in Path(trips_dir).iterdir())
    slack_calls = [call.method for call in sandbox.calls[calls_before:]]
    return {"commands": c.commands / SAMPLE, "round_trips": (c.round_trips + children) / SAMPLE,
            "redis_cpu_us": c.redis_cpu_seconds / SAMPLE * 1e6,
            "slack_calls": len(slack_calls) / SAMPLE,
            "slack_calls_by_method": {m: slack_calls.count(m) / SAMPLE for m in sorted(set(slack_calls))}}


def _bytes_of_keys(connection: redis.Redis, skip: Callable[[bytes], bool]) -> int:
    # samples=0: every element counted; Redis's default samples five and estimates the rest.
    return sum(int(connection.memory_usage(key, samples=0) or 0)
               for key in connection.scan_iter(count=1000) if not skip(key))


def _not_data(key: bytes) -> bool:
    # Worker registrations and the types catalogue are per deployment, not per action.
    return key.startswith((b"rq:worker", b"rq:workers", b"rq:queues", b"signoff:types", b"signoff:slack:channel"))


def memory_per_pending(connection: redis.Redis, m: int = 1000) -> dict[str, float]:
    """Summed per key (the action, its indexes, audit entries, timers, the jobs left), not from INFO."""
    from rq import Queue

    from bench.work import EMAIL_BODY, EMAIL_REASON, add, bench_add, bench_email
    from signoff.models import Status
    from signoff.runtime import QUEUES

    connection.flushall()
    queue = Queue("bench-plain", connection=connection)
    for i in range(m):
        queue.enqueue(add, i, 1)
    rq_job = _bytes_of_keys(connection, _not_data) / m

    sizes = {}
    for name, request in (("small", lambda i: bench_add.request(a=i, b=1, agent="bench", reason="waits for a person")),
                          ("realistic", lambda i: bench_email.request(
                              to=f"sarah.{i}@client-example.com", subject="Your refund for invoice 2041",
                              body=EMAIL_BODY, agent="support-bot", reason=EMAIL_REASON))):
        connection.flushall()
        rt = _runtime(APPROVE_ALL)
        tickets = [request(i) for i in range(m)]
        _drain(rt, QUEUES)  # routed and posted to Slack: really pending
        assert rt.store.count(Status.PENDING_APPROVAL) == m
        assert all(rt.store.get(t.id).slack.get("ts") for t in tickets[:5])
        sizes[name] = _bytes_of_keys(connection, _not_data) / m
    return {"signoff_bytes": sizes["realistic"], "signoff_bytes_two_integers": sizes["small"],
            "realistic_params_bytes": len(json.dumps({"to": "sarah.0@client-example.com",
                                                      "subject": "Your refund for invoice 2041", "body": EMAIL_BODY})),
            "plain_rq_waiting_job_bytes": rq_job, "ratio": sizes["realistic"] / rq_job}


def _child(code: str, env: dict[str, str]) -> dict[str, float]:
    """Runs `code` in a fresh Python; returns its wall time and peak resident memory."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stderr[-2000:]
    *said, peak_kib = done.stdout.strip().splitlines()
    figures = {"seconds": elapsed, "peak_mib": int(peak_kib) / 1024}
    figures.update({k: float(v) for k, _, v in (line.partition("=") for line in said) if v})
    return figures


# The child's own peak resident memory (VmHWM: ru_maxrss would carry the forking parent's over exec).
_PEAK = ("import re; print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))")


def large_history(pending: int) -> dict[str, Any]:
    from bench.digest import _pending, _ran_unattended
    from signoff.audit import AUDIT_STREAM, read_events
    from signoff.models import Status

    rt = _runtime(APPROVE_ALL)
    rt.connection.flushall()
    used = lambda: int(rt.connection.info("memory")["used_memory"])  # noqa: E731
    started = used()
    held = _pending(rt, pending)
    per_pending_bulk = (used() - started) / pending
    # Finished auto-run actions: four audit entries each, up to 600,000 in all at the default size.
    _ran_unattended(rt, pending)
    entries = int(rt.connection.xlen(AUDIT_STREAM))

    def timed(read: Callable[[], Any], repeat: int = 20) -> float:
        samples = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            read()
            samples.append(time.perf_counter() - t0)
        return statistics.median(samples) * 1000

    one = held[len(held) // 2].id
    by_record = timed(lambda: list(read_events(rt.connection, action_id=one)))
    by_scan = timed(lambda: [e for e in read_events(rt.connection) if e.action_id == one], repeat=1)
    assert [e.step for e in read_events(rt.connection, action_id=one)] == ["requested", "held"]
    env = {**os.environ}
    digest = _child("from bench.scale import _digest_once; _digest_once()\n" + _PEAK, env)
    baseline = _child("import signoff.digests, bot.views.digest\n" + _PEAK, env)
    export = _child("import sys\nfrom signoff_app.cli import main\nsys.stdout = open('/dev/null', 'w')\n"
                    "try:\n    main(['audit', '--since', '24h', '--format', 'csv'])\nexcept SystemExit:\n    pass\n"
                    + "sys.stdout = sys.__stdout__\n" + _PEAK, env)
    t0 = time.perf_counter()
    waiting = rt.store.count(Status.PENDING_APPROVAL)
    count_ms = (time.perf_counter() - t0) * 1000
    return {"pending": pending, "audit_entries": entries, "bytes_per_pending_used_memory": per_pending_bulk,
            "audit_by_action_ms": by_record, "audit_by_scan_ms": by_scan, "ratio_audit_by_action": by_record / by_scan,
            "digest_100k_unseen": digest, "digest_import_only": baseline,
            "audit_since_csv": export, "pending_count": waiting, "pending_count_ms": count_ms}


def _digest_once() -> None:
    """In a child process: the first digest of a team that watches everything, Block Kit included."""
    from bot.views.digest import digest_blocks
    from policies.teams import Team
    from signoff import digests
    from signoff.runtime import Runtime

    rt = Runtime()
    team = Team.model_validate({"name": "everyone", "channel": "#ops", "at": "09:00", "timezone": "UTC"})
    started = time.perf_counter()
    digest = digests.build(rt.connection, team)
    blocks = digest_blocks(digest)
    print(f"build_seconds={time.perf_counter() - started}")
    assert digest.count > 0 and len(blocks) <= 50


def main(pending: int) -> dict[str, Any]:
    import tempfile

    from signoff.logging import configure_logging
    from signoff_app.sandbox import SlackSandbox

    with private_redis() as url, tempfile.NamedTemporaryFile("w", suffix=".yml") as policy:
        policy.write(AUTO_POLICY)
        policy.flush()
        os.environ["SIGNOFF_LOG_LEVEL"] = "warning"
        configure_logging("json", "warning")
        connection = redis.Redis.from_url(url)
        sandbox = SlackSandbox(bot_url="http://127.0.0.1:9/unused").start()
        os.environ.update(SLACK_API_URL=sandbox.api_url, SLACK_BOT_TOKEN=sandbox.token,
                          SLACK_SIGNING_SECRET=sandbox.signing_secret)
        try:
            figures: dict[str, Any] = {"sample": SAMPLE, "plain_rq_per_job": plain_rq_per_job(connection)}
            connection.flushall()
            figures["auto_per_action"] = auto_per_action(policy.name)
            connection.flushall()
            figures["approve_per_action"] = approve_per_action(sandbox)
            figures["memory_per_pending"] = memory_per_pending(connection)
        finally:
            sandbox.stop()
        for name in ("auto_per_action", "approve_per_action"):
            for unit in ("commands", "round_trips"):
                figures[name][f"ratio_{unit}"] = figures[name][unit] / figures["plain_rq_per_job"][unit]
        os.environ.pop("SLACK_BOT_TOKEN")
        if pending:  # 0: the per-action counts and memory only (a minute, not eight)
            figures["large_history"] = large_history(pending)
    return figures


def report(f: dict[str, Any]) -> str:
    rq, auto, appr, mem = f["plain_rq_per_job"], f["auto_per_action"], f["approve_per_action"], f["memory_per_pending"]
    lines = [
        f"Per action, end to end ({f['sample']} each)        commands   round trips   Redis CPU",
        f"  plain RQ job (enqueue + run)              {rq['commands']:8.1f}   {rq['round_trips']:8.1f}"
        f"   {rq['redis_cpu_us']:7.0f} us",
        f"  Signoff auto-run                          {auto['commands']:8.1f}   {auto['round_trips']:8.1f}"
        f"   {auto['redis_cpu_us']:7.0f} us   ({auto['ratio_commands']:.1f}x / {auto['ratio_round_trips']:.1f}x)",
        f"  Signoff approve-mode, Slack included      {appr['commands']:8.1f}   {appr['round_trips']:8.1f}"
        f"   {appr['redis_cpu_us']:7.0f} us   ({appr['ratio_commands']:.1f}x / {appr['ratio_round_trips']:.1f}x)",
        f"  Slack calls per approved action: {appr['slack_calls']:.2f} {appr['slack_calls_by_method']}",
        f"Redis memory per pending action, realistic parameters ({mem['realistic_params_bytes']} bytes of JSON: "
        f"recipient, subject, body; a one-line reason): {mem['signoff_bytes']:.0f} bytes (two integers: "
        f"{mem['signoff_bytes_two_integers']:.0f}; an RQ job waiting in a queue: "
        f"{mem['plain_rq_waiting_job_bytes']:.0f}; ratio {mem['ratio']:.2f})",
    ]
    if "large_history" not in f:
        return "\n".join(lines)
    big = f["large_history"]
    return "\n".join([*lines,
        f"With {big['pending']:,} pending and {big['audit_entries']:,} audit entries:",
        f"  audit --action ID         {big['audit_by_action_ms']:8.2f} ms   (scanning the stream: "
        f"{big['audit_by_scan_ms']:,.0f} ms; ratio {big['ratio_audit_by_action']:.5f})",
        f"  first digest, {big['pending']:,} unseen  built in {big['digest_100k_unseen']['build_seconds']:.2f} s; "
        f"the process {big['digest_100k_unseen']['seconds']:.2f} s, peak {big['digest_100k_unseen']['peak_mib']:.0f}"
        f" MiB (importing only: {big['digest_import_only']['seconds']:.2f} s, "
        f"{big['digest_import_only']['peak_mib']:.0f} MiB)",
        f"  audit --since 24h --format csv   {big['audit_since_csv']['seconds']:6.1f} s, peak "
        f"{big['audit_since_csv']['peak_mib']:.0f} MiB",
        f"  pending count {big['pending_count']:,} in {big['pending_count_ms']:.2f} ms; "
        f"INFO used_memory per pending (bulk): {big['bytes_per_pending_used_memory']:.0f} bytes",
    ])


if __name__ == "__main__":
    run("scale", main, report, [100_000])
