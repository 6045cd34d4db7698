"""Throughput: N trivial auto-run actions through Signoff against the same function on plain RQ.

Both paths use the same RQ worker class in the same run (three alternating rounds, medians), on a
private redis-server, each worker started the way its own command starts it. Prints actions/s for
each and the ratio (memory per pending action is measured by bench/scale.py, on actions that are
pending).
Usage: python bench/throughput.py [N]   (results also go to bench/results/throughput.json)
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis
from rq import Queue, SimpleWorker, Worker

from bench.common import private_redis, run

POLICY = ("allow_no_approval: true  # a benchmark of the auto path: nothing asks a person, on purpose\n"
          "runaway: {max_actions: 100000000, window: 60s}\nrules:\n  - {name: all, mode: auto}\n")


def _drain(worker_class: type[Worker], queue: str, connection: redis.Redis) -> None:
    worker_class([queue], connection=connection).work(burst=True, with_scheduler=False, logging_level="WARNING")


def _drain_signoff(worker_class: type[Worker]) -> None:
    """The same worker class, as `signoff worker` (`--no-fork` for SimpleWorker) builds it: Signoff's
    subclass with its leaner bookkeeping, its own Redis connection, JSON jobs, only Signoff's own functions."""
    from signoff.config import get_settings
    from signoff.runtime import ACTIONS_QUEUE, Runtime
    from workers.worker import build_worker, prepare

    get_settings.cache_clear()
    rt = Runtime()
    prepare(rt)  # as `signoff worker` starts: the forked horses inherit it
    build_worker(rt, (ACTIONS_QUEUE,), fork=worker_class is not SimpleWorker).work(
        burst=True, with_scheduler=False, logging_level="WARNING")


def plain_rq(n: int, worker_class: type[Worker], connection: redis.Redis) -> dict[str, float]:
    from bench.work import add

    queue = Queue("bench-plain", connection=connection)
    started = time.perf_counter()
    for i in range(n):
        queue.enqueue(add, i, 1)
    enqueued = time.perf_counter()
    _drain(worker_class, queue.name, connection)
    done = time.perf_counter()
    return {"enqueue_per_s": n / (enqueued - started), "run_per_s": n / (done - enqueued),
            "end_to_end_per_s": n / (done - started)}


def signoff_path(n: int, worker_class: type[Worker]) -> dict[str, float]:
    from bench.work import bench_add

    started = time.perf_counter()
    tickets = [bench_add.request(a=i, b=1, agent="bench", reason="benchmark") for i in range(n)]
    enqueued = time.perf_counter()
    _drain_signoff(worker_class)
    done = time.perf_counter()
    assert bench_add.signoff.get(tickets[-1].id).result == n, "the last action did not run"
    return {"enqueue_per_s": n / (enqueued - started), "run_per_s": n / (done - enqueued),
            "end_to_end_per_s": n / (done - started)}


ROUNDS = 3


def _median(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}


def main(n: int) -> dict[str, Any]:
    with private_redis() as url, tempfile.NamedTemporaryFile("w", suffix=".yml") as policy:
        policy.write(POLICY)
        policy.flush()
        os.environ["SIGNOFF_POLICY"] = policy.name
        os.environ["SIGNOFF_LOG_LEVEL"] = "warning"
        from signoff.logging import configure_logging

        configure_logging("json", "warning")
        connection = redis.Redis.from_url(url)
        figures: dict[str, Any] = {"n": n}
        for worker_class in (Worker, SimpleWorker):
            plains, ourses = [], []
            for _ in range(ROUNDS):  # alternating, so a slower moment of the machine hits both
                connection.flushall()
                plains.append(plain_rq(n, worker_class, connection))
                connection.flushall()
                ourses.append(signoff_path(n, worker_class))
            plain, ours = _median(plains), _median(ourses)
            figures[worker_class.__name__] = {
                "plain_rq": plain, "signoff": ours,
                "ratio_end_to_end": ours["end_to_end_per_s"] / plain["end_to_end_per_s"],
                "ratio_run": ours["run_per_s"] / plain["run_per_s"],
                "ratio_enqueue": ours["enqueue_per_s"] / plain["enqueue_per_s"],
            }
    return figures


def report(figures: dict[str, Any]) -> str:
    lines = [f"Throughput, {figures['n']} trivial auto-run actions (same worker class, same run; "
             f"medians of {ROUNDS} alternating rounds):"]
    for worker_class in ("Worker", "SimpleWorker"):
        f = figures[worker_class]
        lines.append(
            f"  {worker_class:<12} plain RQ {f['plain_rq']['end_to_end_per_s']:8.0f}/s   "
            f"Signoff {f['signoff']['end_to_end_per_s']:8.0f}/s   ratio {f['ratio_end_to_end']:.2f}  "
            f"(enqueue {f['ratio_enqueue']:.2f}, run {f['ratio_run']:.2f})")
    return "\n".join(lines)


if __name__ == "__main__":
    run("throughput", main, report, [2000])
