"""What a preview costs: N held emails routed and posted to the Slack sandbox, with the rendered email
as their preview and without, in alternating rounds on the same in-process worker (`signoff worker
--no-fork`'s class). Prints time and Redis commands per action, and their ratio.
Usage: python bench/preview.py [N]   (results also go to bench/results/preview.json)
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import APPROVE_ALL, private_redis, run  # noqa: E402
from bench.scale import _drain, _runtime, counted  # noqa: E402

ROUNDS = 3


def _round(n: int, previewed: bool) -> dict[str, float]:
    from bench.work import EMAIL_BODY, EMAIL_REASON, bench_email, bench_email_previewed
    from signoff.models import Status
    from signoff.runtime import QUEUES

    rt = _runtime(APPROVE_ALL)
    rt.connection.flushall()
    _drain(rt, QUEUES)  # imports and registrations are not per action
    handle = bench_email_previewed if previewed else bench_email
    tickets = [handle.request(to=f"sarah.{i}@client-example.com", subject="Your refund", body=EMAIL_BODY,
                              agent="support-bot", reason=EMAIL_REASON) for i in range(n)]
    with counted(rt.connection) as c:
        started = time.perf_counter()
        _drain(rt, QUEUES)  # routed, previewed, posted
        seconds = time.perf_counter() - started
    assert rt.store.count(Status.PENDING_APPROVAL) == n
    assert (rt.store.get(tickets[0].id).preview is not None) == previewed
    return {"ms_per_action": seconds / n * 1000, "commands": c.commands / n, "round_trips": c.round_trips / n}


def main(n: int) -> dict[str, Any]:
    from signoff.logging import configure_logging
    from signoff_app.sandbox import SlackSandbox

    with private_redis():
        os.environ["SIGNOFF_LOG_LEVEL"] = "warning"
        configure_logging("json", "warning")
        sandbox = SlackSandbox(bot_url="http://127.0.0.1:9/unused").start()
        os.environ.update(SLACK_API_URL=sandbox.api_url, SLACK_BOT_TOKEN=sandbox.token,
                          SLACK_SIGNING_SECRET=sandbox.signing_secret)
        try:
            plain, previewed = [], []
            for _ in range(ROUNDS):
                plain.append(_round(n, previewed=False))
                previewed.append(_round(n, previewed=True))
        finally:
            sandbox.stop()
    figures: dict[str, Any] = {"n": n}
    for name, rounds in (("without", plain), ("with_preview", previewed)):
        figures[name] = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
        figures[name]["ms_range"] = [min(r["ms_per_action"] for r in rounds), max(r["ms_per_action"] for r in rounds)]
    figures["ratio_time"] = figures["with_preview"]["ms_per_action"] / figures["without"]["ms_per_action"]
    figures["extra_commands"] = figures["with_preview"]["commands"] - figures["without"]["commands"]
    return figures


def report(f: dict[str, Any]) -> str:
    w, p = f["without"], f["with_preview"]
    return "\n".join([
        f"A held email routed and posted ({f['n']} each, medians of {ROUNDS} alternating rounds):",
        f"  without a preview   {w['ms_per_action']:6.2f} ms  {w['commands']:6.1f} commands  "
        f"{w['round_trips']:5.1f} round trips",
        f"  with its preview    {p['ms_per_action']:6.2f} ms  {p['commands']:6.1f} commands  "
        f"{p['round_trips']:5.1f} round trips",
        f"  ratio {f['ratio_time']:.2f}; the preview adds {f['extra_commands']:.1f} commands (its record), and runs "
        "again just before the run",
    ])


if __name__ == "__main__":
    run("preview", main, report, [300])
