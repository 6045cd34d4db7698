"""The agents' HTTP API beside the Python SDK, in the same run, on the real web process.

- submit: N actions through POST /api/v1/actions, and N through the SDK straight to Redis;
- wake-up: the time from a decision to the waiting client's return, long-poll against Ticket.wait();
- 1,000 long-polls held at once on one web process, all woken by their decisions, none dropped.
Writes bench/results/api.json. Usage: python bench/api.py [N] [CONCURRENT]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import private_redis, run, sandbox_env  # noqa: E402
from bench.interaction import _port, _start, _stop, percentiles  # noqa: E402

EMAIL = {"to": "sarah@client.com", "subject": "Q3", "body": "b"}


def _wake_ups(n: int, decide: Any, wait: Any, pending: Any) -> list[float]:
    """Decide n pending actions one at a time while a client waits on each; the seconds from the
    start of the decision (its transition wakes the waiter) to the waiting client's return."""
    samples = []
    for _ in range(n):
        action_id = pending()
        returned: list[float] = []
        waiter = threading.Thread(target=lambda a=action_id, r=returned: (wait(a), r.append(time.perf_counter())))
        waiter.start()
        time.sleep(0.05)  # the waiter is parked on its long-poll: this is the benchmark's set-up, not a sync
        decided = time.perf_counter()
        decide(action_id)
        waiter.join(timeout=30)
        samples.append(returned[0] - decided)
    return samples


async def _many(base: str, token: str, ids: list[str], decide_all: Any) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=len(ids) + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, limits=limits,
                                 timeout=90) as client:
        tasks = [asyncio.create_task(client.get(f"/actions/{i}/wait", params={"timeout": 60})) for i in ids]
        await asyncio.sleep(3)  # every request parked on the server before the decisions: set-up, not a sync
        started = time.perf_counter()
        await asyncio.to_thread(decide_all)
        replies = await asyncio.gather(*tasks, return_exceptions=True)
        elapsed = time.perf_counter() - started
    woken = sum(1 for r in replies if isinstance(r, httpx.Response) and r.json().get("status") == "rejected")
    return {"held": len(ids), "woken": woken, "dropped": len(ids) - woken, "all_woken_within_s": round(elapsed, 2)}


def main(n: int, concurrent: int) -> dict[str, Any]:
    from signoff_app.sandbox import SlackSandbox

    with private_redis():
        import redis

        from signoff import Signoff, tokens
        from signoff.runtime import Runtime
        from tests.actions import send_email

        bot_port = _port()
        sandbox = SlackSandbox(bot_url=f"http://127.0.0.1:{bot_port}/slack/events").start()
        env = sandbox_env(sandbox)
        import logging

        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would drown the figures
        bot = _start(["-m", "signoff_app.cli", "bot", "--host", "127.0.0.1", "--port", str(bot_port)], env,
                     "bot_listening")
        worker = _start(["-m", "signoff_app.cli", "worker"], env, "Listening on")
        rt = Runtime()
        sdk = Signoff(connection=redis.Redis.from_url(os.environ["REDIS_URL"]))
        try:
            send_email.request(agent="setup", reason="registers the type", **EMAIL)
            token, _ = tokens.create(rt.connection, "bench-bot")
            base = f"http://127.0.0.1:{bot_port}/api/v1"
            api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=90)
            body = {"type": "send_email", "params": EMAIL, "reason": "benchmark"}

            started = time.perf_counter()
            api_ids = [api.post("/actions", json=body).json()["id"] for _ in range(n)]
            api_rate = n / (time.perf_counter() - started)
            started = time.perf_counter()
            for _ in range(n):
                send_email.request(agent="bench-bot", reason="benchmark", **EMAIL)
            sdk_rate = n / (time.perf_counter() - started)
            rt.store.wait_for_status(api_ids[-1], {"pending_approval"}, 60)  # type: ignore[arg-type]

            def pending() -> str:
                action_id = str(api.post("/actions", json=body).json()["id"])
                rt.store.wait_for_status(action_id, {"pending_approval"}, 30)  # type: ignore[arg-type]
                return action_id

            def reject(action_id: str) -> None:
                sdk.decide(action_id, "reject", by="bench", note="benchmark")

            samples = min(n, 50)
            http_wake = _wake_ups(samples, reject, lambda a: api.get(f"/actions/{a}/wait", params={"timeout": 30}),
                                  pending)
            sdk_wake = _wake_ups(samples, reject, lambda a: sdk.ticket(a).wait(30), pending)

            ids = [str(api.post("/actions", json=body).json()["id"]) for _ in range(concurrent)]
            rt.store.wait_for_status(ids[-1], {"pending_approval"}, 120)  # type: ignore[arg-type]
            many = asyncio.run(_many(base, token, ids, lambda: [reject(i) for i in ids]))
        finally:
            _stop(bot)
            _stop(worker)
            sandbox.stop()
    http_p, sdk_p = percentiles(http_wake), percentiles(sdk_wake)
    return {"n": n, "submit_per_s": {"api": round(api_rate, 1), "sdk": round(sdk_rate, 1),
                                     "ratio": round(api_rate / sdk_rate, 2)},
            "wake_up": {"api": http_p, "sdk": sdk_p, "mean_api_ms": statistics.fmean(http_wake) * 1000},
            "concurrent_long_polls": many}


def report(f: dict[str, Any]) -> str:
    s, w, m = f["submit_per_s"], f["wake_up"], f["concurrent_long_polls"]
    return "\n".join([
        f"Submit, {f['n']} actions: API {s['api']}/s, SDK {s['sdk']}/s (ratio {s['ratio']})",
        f"Wake-up after a decision: API long-poll p50 {w['api']['p50_ms']:.1f} ms p99 {w['api']['p99_ms']:.1f} ms; "
        f"SDK wait p50 {w['sdk']['p50_ms']:.1f} ms p99 {w['sdk']['p99_ms']:.1f} ms",
        f"{m['held']} long-polls at once: {m['woken']} woken, {m['dropped']} dropped, all within "
        f"{m['all_woken_within_s']} s of the first decision",
    ])


if __name__ == "__main__":
    run("api", main, report, [300, 1000])
