"""Reliability under a burst: simultaneous signed clicks against the real web process (uvicorn + Bolt).

Two runs, each all at once: 1,000 clicks on one action (one decision, one run, every click answered)
and 200 clicks on 200 actions (200 decisions, 200 runs). Reports connection resets, p50/p99 of the
acknowledgement, decisions and runs, and writes bench/results/reliability.json.
Usage: python bench/reliability.py [CLICKS_ON_ONE] [ACTIONS]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.burst import burst  # noqa: E402
from bench.common import private_redis, run, sandbox_env  # noqa: E402
from bench.interaction import _port, _start, _stop  # noqa: E402

USERS = ("U0ALICE", "U0BOB", "U0CAROL")


def main(clicks_on_one: int, actions: int) -> dict[str, Any]:
    from signoff_app.sandbox import SlackSandbox

    with private_redis():
        from signoff.audit import read_events
        from signoff.runtime import Runtime
        from tests.actions import update_crm
        from tests.slack_helpers import approval_message

        bot_port = _port()
        sandbox = SlackSandbox(bot_url=f"http://127.0.0.1:{bot_port}/slack/events").start()
        env = sandbox_env(sandbox)
        bot = _start(["-m", "signoff_app.cli", "bot", "--host", "127.0.0.1", "--port", str(bot_port)], env,
                     "bot_listening")
        worker = _start(["-m", "signoff_app.cli", "worker"], env, "Listening on")
        rt = Runtime()
        try:
            one = update_crm.request(record_id="1", field="stage", value="won", agent="bench-bot", reason="burst")
            message = approval_message(sandbox, one.id)
            first = burst(bot_port, [sandbox.interactions.signed_click(message, "signoff_approve",
                                                                        USERS[i % len(USERS)])
                                     for i in range(clicks_on_one)])
            rt.store.wait_for_status(one.id, {"succeeded", "failed"}, 60)  # type: ignore[arg-type]
            steps = [e.step for e in read_events(rt.connection, action_id=one.id)]
            tickets = [update_crm.request(record_id=str(i), field="stage", value="won", agent="bench-bot",
                                          reason="burst") for i in range(actions)]
            messages = [approval_message(sandbox, t.id) for t in tickets]
            second = burst(bot_port, [sandbox.interactions.signed_click(m, "signoff_approve", USERS[i % 3])
                                      for i, m in enumerate(messages)])
            finished = [rt.store.wait_for_status(t.id, {"succeeded", "failed"}, 120) for t in tickets]  # type: ignore[arg-type]
        finally:
            _stop(bot)
            _stop(worker)
            sandbox.stop()
    return {
        "one_action": {**first.summary(), "decisions": steps.count("approved"), "runs": steps.count("started")},
        "many_actions": {**second.summary(), "decisions": sum(a.decided_by is not None for a in finished),
                         "runs": sum(a.status == "succeeded" for a in finished)},
    }


def report(f: dict[str, Any]) -> str:
    lines = []
    for name, label in (("one_action", "clicks on one action"), ("many_actions", "clicks on as many actions")):
        r = f[name]
        lines.append(f"{r['sent']:>5} simultaneous {label}: {r['ok']} answered 200, {r['resets']} resets, "
                     f"ack p50 {r['ack_p50_ms']} ms p99 {r['ack_p99_ms']} ms; {r['decisions']} decision(s), "
                     f"{r['runs']} run(s)")
    return "\n".join(lines)


if __name__ == "__main__":
    run("reliability", main, report, [1000, 200])
