"""Interaction speed: signed Approve clicks against the running Bolt app, through the Slack sandbox.

Prints p50/p99 of the time Slack waits for the acknowledgement, and of click-to-run (until the
approved action has run on a worker); the baseline is plain Bolt acknowledging a no-op button on
the same web server, in rounds alternating with Signoff's in the same run. Usage: python
bench/interaction.py [N]
"""

from __future__ import annotations

import copy
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 3
sys.path.insert(0, str(ROOT))

from bench.common import private_redis, run, sandbox_env  # noqa: E402


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(args: list[str], env: dict[str, str], ready: str, timeout: float = 60.0) -> subprocess.Popen[str]:
    """Starts a process whose log goes to a file, not through this process: reading it here would
    compete with the thread that times the clicks. Ready once the log shows `ready`."""
    log = tempfile.NamedTemporaryFile("w+", prefix="signoff-bench-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=log, text=True, start_new_session=True)
    deadline = time.monotonic() + timeout
    while ready not in Path(log.name).read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{args} exited or was not ready in time; see {log.name}")
        time.sleep(0.02)  # an external process's start-up, bounded by the deadline
    return process


def _stop(process: subprocess.Popen[Any]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=15)


def _wait_idle(rt: Any, timeout: float = 10.0) -> None:
    """Until the worker has finished with its last job (a forking worker reaps its work horse after it)."""
    from rq import Worker

    deadline = time.monotonic() + timeout
    while any(w.get_state() != "idle" for w in Worker.all(connection=rt.connection)):
        if time.monotonic() > deadline:
            raise TimeoutError("the worker did not come back to idle")
        time.sleep(0.002)  # the benchmark's own pacing between clicks, never inside a measurement


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": statistics.median(ordered) * 1000,
            "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000}


def timed_click(sandbox: Any, message: Any, user: str) -> float:
    started = time.perf_counter()
    status, _ = sandbox.interactions.click(message, "signoff_approve", user)
    elapsed = time.perf_counter() - started
    assert status == 200, status
    return elapsed


def main(n: int) -> dict[str, Any]:
    from signoff_app.sandbox import SlackSandbox

    with private_redis():
        from signoff.runtime import Runtime
        from tests.actions import update_crm
        from tests.slack_helpers import approval_message

        bot_port, noop_port = _port(), _port()
        sandbox = SlackSandbox(bot_url=f"http://127.0.0.1:{bot_port}/slack/events").start()
        env = sandbox_env(sandbox)
        bot = _start(["-m", "signoff_app.cli", "bot", "--host", "127.0.0.1", "--port", str(bot_port)], env,
                     "bot_listening")
        worker = subprocess.Popen([sys.executable, "-m", "signoff_app.cli", "worker"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        noop = _start(["bench/noop_bolt.py", str(noop_port)], {**env, "PYTHONPATH": str(ROOT)}, "bot_listening")
        rt = Runtime()
        try:
            tickets = [update_crm.request(record_id=str(i), field="stage", value="won", agent="bench-bot",
                                          reason="benchmark") for i in range(n + 1)]
            messages = [approval_message(sandbox, t.id) for t in tickets]
            as_posted = [copy.deepcopy(m) for m in messages]  # the baseline clicks the same buttons
            # One click each, not counted: the first pays for imports and caches (the channel's members).
            timed_click(sandbox, messages.pop(0), "U0ALICE")
            tickets.pop(0)
            warm_up = as_posted.pop(0)
            acks, click_to_run, baseline, ratios = [], [], [], []
            signoff_url, noop_url = sandbox.bot_url, f"http://127.0.0.1:{noop_port}/slack/events"
            sandbox.bot_url = noop_url
            timed_click(sandbox, warm_up, "U0ALICE")
            # Rounds alternate Signoff and plain Bolt, so a change in the machine's load touches both alike.
            size = -(-n // ROUNDS)
            for start in range(0, n, size):
                sandbox.bot_url = signoff_url
                ours_round = []
                for ticket, message in zip(tickets[start:start + size], messages[start:start + size], strict=True):
                    started = time.perf_counter()
                    ours_round.append(timed_click(sandbox, message, "U0ALICE"))
                    done = rt.store.wait_for_status(ticket.id, {"succeeded", "failed"}, 30)  # type: ignore[arg-type]
                    assert done.status == "succeeded", done.status
                    click_to_run.append(time.perf_counter() - started)
                    # The action's own Slack work and the worker's clean-up finish before the next click: each
                    # acknowledgement is measured on a machine as quiet as the baseline's.
                    sandbox.wait_for(lambda m=message: any(r.thread_ts == m.ts for r in sandbox.workspace.messages))
                    _wait_idle(rt)
                sandbox.bot_url = noop_url
                plain_round = [timed_click(sandbox, m, "U0ALICE") for m in as_posted[start:start + size]]
                ratios.append(percentiles(ours_round)["p99_ms"] / percentiles(plain_round)["p99_ms"])
                acks += ours_round
                baseline += plain_round
        finally:
            for process in (bot, noop):
                _stop(process)
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=15)
            sandbox.stop()
    ours, plain = percentiles(acks), percentiles(baseline)
    return {"n": n, "signoff_ack": ours, "plain_bolt_ack": plain, "click_to_run": percentiles(click_to_run),
            "ratio_ack_p99_rounds": ratios, "ratio_ack_p99_median_of_rounds": statistics.median(ratios),
            "ratio_ack_p50": ours["p50_ms"] / plain["p50_ms"], "ratio_ack_p99": ours["p99_ms"] / plain["p99_ms"]}


def _line(label: str, figures: dict[str, float]) -> str:
    return f"  {label:<28} p50 {figures['p50_ms']:6.1f} ms   p99 {figures['p99_ms']:6.1f} ms"


def report(f: dict[str, Any]) -> str:
    return "\n".join([
        f"Interaction, {f['n']} signed Approve clicks (sequential):",
        _line("ack, Signoff", f["signoff_ack"]),
        _line("ack, plain Bolt no-op", f["plain_bolt_ack"]),
        f"  ratio (Signoff / plain Bolt)  p50 {f['ratio_ack_p50']:.2f}   p99 {f['ratio_ack_p99']:.2f}",
        f"  p99 ratio per round          {', '.join(f'{r:.2f}' for r in f['ratio_ack_p99_rounds'])}   "
        f"median {f['ratio_ack_p99_median_of_rounds']:.2f}",
        _line("click to run (worker done)", f["click_to_run"]),
    ])


if __name__ == "__main__":
    run("interaction", main, report, [200])
