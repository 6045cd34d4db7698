"""Waiting on real state changes in Redis, with deadlines: never a sleep."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from signoff.models import Action, Status
from signoff.runtime import JOB_SERIALIZER, Runtime

DEADLINE = 30.0
BLOCK_SECONDS = 2.0  # shorter than the Redis client's socket timeout, which would cut a longer block


def wait_status(rt: Runtime, action_id: str, *statuses: Status, timeout: float = DEADLINE) -> Action:
    action = rt.store.wait_for_status(action_id, statuses, timeout)
    assert action.status in statuses, f"{action_id} is {action.status}, expected {statuses}: {action.error}"
    return action


def blpop_text(rt: Runtime, key: str, timeout: float = DEADLINE) -> str:
    """Blocks until a test action reports through `key`."""
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        # Blocks in slices shorter than the client's socket timeout.
        popped = rt.connection.blpop([key], timeout=min(remaining, BLOCK_SECONDS))
        if popped is not None:
            return popped[1].decode()
    raise AssertionError(f"nothing arrived on {key} within {timeout}s")


def advance(rt: Runtime, seconds: float) -> int:
    """Time driven by the test: whatever RQ's scheduler would start within `seconds` is started now.

    Returns how many scheduled jobs were released to their queues.
    """
    from rq.job import Job



    moment = int(time.time() + seconds)
    released = 0
    for queue in (rt.actions_queue, rt.slack_queue):
        registry = queue.scheduled_job_registry
        for job_id in registry.get_jobs_to_schedule(moment):
            registry.remove(job_id)
            queue.enqueue_job(Job.fetch(job_id, connection=rt.connection, serializer=JOB_SERIALIZER))
            released += 1
    return released




def when_key_changes(rt: Runtime, key: str, check: Callable[[], Any], what: str, timeout: float = DEADLINE) -> Any:
    """Until `check()` is truthy, for state that publishes no change of its own (an RQ worker's state, an
    action's Slack record): Redis's keyspace notifications for `key` wake the re-check, under a deadline."""
    rt.connection.config_set("notify-keyspace-events", "Kg$h")  # string and hash writes, deletions, per key
    db = rt.connection.connection_pool.connection_kwargs.get("db", 0)
    pubsub = rt.connection.pubsub(ignore_subscribe_messages=True)
    try:
        pubsub.subscribe(f"__keyspace@{db}__:{key}")  # before the first look: a change in between still wakes us
        deadline = time.monotonic() + timeout
        while not (result := check()):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"never happened: {what}"
            pubsub.get_message(timeout=min(remaining, BLOCK_SECONDS))
        return result
    finally:
        pubsub.close()


@contextmanager
def sandbox_process() -> Iterator[tuple[subprocess.Popen[str], int]]:
    """`signoff sandbox --no-agent` as a newcomer runs it, on a port of its own (its banner on stdout);
    stopped as Ctrl-C would, and killed whole if it does not stop, so nothing of it is left behind."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    box = subprocess.Popen([sys.executable, "-m", "signoff_app.cli", "sandbox", "--no-agent", "--port", str(port)],
                           cwd=Path(__file__).resolve().parent.parent, text=True, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        yield box, port
    finally:
        os.killpg(box.pid, signal.SIGTERM)
        try:
            box.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(box.pid, signal.SIGKILL)
            box.wait()


def wait_worker_idle(rt: Runtime, pid: int, timeout: float = DEADLINE) -> None:
    from rq import Worker

    [worker] = [w for w in Worker.all(connection=rt.connection) if w.pid == pid]
    when_key_changes(rt, worker.key, lambda: rt.connection.hget(worker.key, "state") == b"idle",
                     f"worker {pid} is idle", timeout)
