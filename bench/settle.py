"""The short wait: what a tool call the policy lets run pays for asking the worker, not guessing locally.

An MCP gate (and the Claude Code hook, which asks the same way) records each call as an action,
waits for the worker's verdict (here: the policy lets it run, and the worker issues its permit),
checks the permit, marks the run started and records its outcome: `PolicyGate._ask`,
`store.wait_settled`, `door.enter_elsewhere`, `door.leave`, exactly as the gate calls them. The
baseline is the least any worker round trip costs: a trivial plain-RQ job enqueued and its result
awaited (`job.latest_result(timeout=...)`), on RQ's own worker of the same class. Both workers are
real processes (`signoff worker`, `rq worker`), on a private redis-server, in alternating rounds.
Prints p50/p99 of each, their ratio, and Redis commands and round trips per call.
Usage: python bench/settle.py [N] [WORKER]   WORKER: 1 forking (default), 0 SimpleWorker / --no-fork
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from bench.common import private_redis, run  # noqa: E402
from bench.interaction import _stop  # noqa: E402
from bench.scale import counted  # noqa: E402

ROUNDS = 3
BODY = ("Thanks for the call today. As agreed, the migration starts on Monday at 09:00 and the old "
        "endpoint stays up until Friday, so nothing breaks for your team while you switch over. "
        "I will send the new keys by noon.")
PARAMS = {"path": "notes/follow-up.md", "content": BODY}
SCHEMA = {"type": "object", "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
          "required": ["path", "content"]}


def _start(args: list[str], env: dict[str, str], connection: redis.Redis) -> subprocess.Popen[bytes]:
    from rq import Worker

    before = {w.name for w in Worker.all(connection=connection)}
    process = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while not {w.name for w in Worker.all(connection=connection)} - before:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{args} exited or never registered as a worker")
        time.sleep(0.02)  # an external process's start-up, bounded by the deadline
    return process


def _measured(command: list[str], env: dict[str, str], connection: redis.Redis, calls: Any, n: int,
              warm: int = 20) -> Any:
    """`calls(n, connection)` against a worker started for it alone (warmed first: imports, scripts)."""
    connection.flushall()
    worker = _start(command, env, connection)
    try:
        calls(warm, connection)
        return calls(n, connection)
    finally:
        _stop(worker)


def gate_calls(n: int, connection: redis.Redis) -> list[float]:
    from signoff import door
    from signoff.catalog import ActionType
    from signoff.models import Status
    from signoff.runtime import Runtime
    from signoff_app.mcp_gate import PolicyGate, _call_key

    rt = Runtime(connection=connection)
    gate = PolicyGate(rt, agent="bench-gate", categories={}, wait=30.0)
    action_type = ActionType(name="write_file", category="coding_tool", params_schema=SCHEMA)
    seconds = []
    for i in range(n):
        params = {**PARAMS, "path": f"notes/{i}.md"}
        started = time.perf_counter()
        action = gate._ask(action_type, _call_key("bench-gate", "write_file", params), params)
        decided = rt.store.wait_settled(action.id, 30.0, action)
        assert decided.status == Status.APPROVED and decided.permit, decided
        begun = door.enter_elsewhere(rt, decided, "mcp:bench-gate", call_type="write_file", call_agent="bench-gate")
        door.leave(rt, begun, result={"content": "ok"}, by="mcp:bench-gate")
        seconds.append(time.perf_counter() - started)
    return seconds


def plain_round_trips(n: int, connection: redis.Redis) -> list[float]:
    from rq import Queue

    from bench.plain_work import add

    queue = Queue("bench-plain", connection=connection)
    seconds = []
    for i in range(n):
        started = time.perf_counter()
        job = queue.enqueue(add, i, 1)
        result = job.latest_result(timeout=30)
        assert result is not None and result.return_value == i + 1, result
        seconds.append(time.perf_counter() - started)
    return seconds


def _percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {"p50_ms": statistics.median(ordered) * 1000, "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000}


#: The default policy's verdict for a coding tool (everything else runs), without the runaway pause that
#: would stop one agent asking hundreds of times a minute.
POLICY = ("allow_no_approval: true  # the path a call the policy lets run takes, on purpose\n"
          "runaway: {max_actions: 100000000, window: 60s}\nrules:\n  - {name: everything-else, mode: auto}\n")


def main(n: int, fork: int) -> dict[str, Any]:
    import tempfile

    with private_redis() as url, tempfile.NamedTemporaryFile("w", suffix=".yml") as policy:
        policy.write(POLICY)
        policy.flush()
        os.environ.update(SIGNOFF_LOG_LEVEL="warning", SIGNOFF_POLICY=policy.name)
        from signoff.logging import configure_logging

        configure_logging("json", "warning")
        from signoff.config import get_settings
        from signoff.signing import decision_key, public_key_text

        key = decision_key(get_settings())
        assert key is not None
        os.environ["SIGNOFF_VERIFY_KEY"] = public_key_text(key)
        get_settings.cache_clear()
        connection = redis.Redis.from_url(url)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        ours_cmd = ["-m", "signoff_app.cli", "worker", *([] if fork else ["--no-fork"])]
        plain_cmd = ["-m", "rq.cli", "worker", "bench-plain", "--url", url, "--path", str(ROOT),
                     *([] if fork else ["--worker-class", "rq.SimpleWorker"])]
        gates, plains = [], []
        for _ in range(ROUNDS):  # alternating, so a slower moment of the machine hits both
            gates.append(_measured(ours_cmd, env, connection, gate_calls, n))
            plains.append(_measured(plain_cmd, env, connection, plain_round_trips, n))

        def counted_calls(count: int, conn: redis.Redis) -> Any:
            with counted(conn) as c:
                gate_calls(count, conn)
            return c

        c = _measured(ours_cmd, env, connection, counted_calls, 50, warm=5)
    gate = {k: statistics.median(_percentiles(r)[k] for r in gates) for k in ("p50_ms", "p99_ms")}
    plain = {k: statistics.median(_percentiles(r)[k] for r in plains) for k in ("p50_ms", "p99_ms")}
    return {"n": n, "worker": "Worker (forking)" if fork else "SimpleWorker (--no-fork)",
            "gate_call": gate, "plain_rq_round_trip": plain,
            "gate_rounds": [_percentiles(r) for r in gates], "plain_rounds": [_percentiles(r) for r in plains],
            "ratio_p50": gate["p50_ms"] / plain["p50_ms"], "ratio_p99": gate["p99_ms"] / plain["p99_ms"],
            "per_call_in_this_process": {"commands": c.commands / 50, "round_trips": c.round_trips / 50}}


def report(f: dict[str, Any]) -> str:
    g, p = f["gate_call"], f["plain_rq_round_trip"]
    return "\n".join([
        f"A tool call the policy lets run, through the MCP gate's path ({f['n']} calls, {f['worker']}, "
        f"medians of {ROUNDS} rounds):",
        f"  gate: ask, verdict and permit, start, outcome  p50 {g['p50_ms']:6.1f} ms   p99 {g['p99_ms']:6.1f} ms",
        f"  plain RQ: enqueue a trivial job, its result    p50 {p['p50_ms']:6.1f} ms   p99 {p['p99_ms']:6.1f} ms",
        f"  ratio                                          p50 {f['ratio_p50']:6.2f}      p99 {f['ratio_p99']:6.2f}",
        f"  Redis per call, the gate's own process: {f['per_call_in_this_process']['commands']:.1f} commands "
        f"(server count, the worker's included), {f['per_call_in_this_process']['round_trips']:.1f} round trips "
        "(this process's)",
    ])


if __name__ == "__main__":
    run("settle", main, report, [200, 1])
