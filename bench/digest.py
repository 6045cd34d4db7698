"""Batches and digests at volume: build time for 10,000 items, and Slack calls per 1,000 actions.

Slack calls are counted by the Slack sandbox while the real Slack jobs run (on an RQ SimpleWorker),
once with one message per action and once with batching (max 20), for the same 1,000 actions.
Usage: python bench/digest.py [ITEMS]   (results also go to bench/results/digest.json)
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import private_redis, run

BATCH_SIZE = 20
SAMPLE = 1000


def _ran_unattended(rt: Any, n: int) -> None:
    """n actions that ran without approval, written as the worker would write them."""
    from signoff import lifecycle
    from signoff.models import Action, AuditEvent, Status, utcnow

    for i in range(n):
        action = Action(type="update_crm", category="internal", agent=f"bot-{i % 7}", reason="bench",
                        params={"record_id": str(i), "field": "stage", "value": "won"}, func="bench.work.bench_add")
        rt.store.create(action, AuditEvent(action_id=action.id, step="requested", actor="agent:bench"))
        rt.store.transition(action.id, Status.APPROVED, allowed_from={Status.RECEIVED},
                            changes={"decided_by": "policy:everything-else", "decided_at": utcnow(),
                                     "rule": "everything-else", "mode": "auto"},
                            event=AuditEvent(action_id=action.id, step="auto_approved", actor="policy"))
        running = lifecycle.start(rt, action.id, worker="bench")
        lifecycle.succeed(rt, running, {"ok": True})


def _pending(rt: Any, n: int) -> list[Any]:
    from signoff.models import Action, AuditEvent, Status

    actions = []
    for i in range(n):
        action = Action(type="send_email", category="external_communication", agent="sales-bot", reason="lead",
                        params={"to": f"lead{i}@client.com", "subject": f"Intro {i}", "body": "Hello"})
        rt.store.create(action, AuditEvent(action_id=action.id, step="requested", actor="agent:bench"))
        actions.append(rt.store.transition(action.id, Status.PENDING_APPROVAL, allowed_from={Status.RECEIVED},
                                           changes={"rule": "outbound", "mode": "batch"},
                                           event=AuditEvent(action_id=action.id, step="held", actor="policy")))
    return actions


def _count_calls(rt: Any, sandbox: Any, jobs: list[tuple[str, str]]) -> int:
    from rq import SimpleWorker

    before = len(sandbox.calls)
    for func, arg in jobs:
        rt.slack_queue.enqueue(func, arg)
    SimpleWorker([rt.slack_queue], connection=rt.connection, serializer=rt.slack_queue.serializer).work(
        burst=True, logging_level="WARNING")
    return len(sandbox.calls) - before


def main(items: int) -> dict[str, Any]:
    from bot.views.batch import batch_blocks, review_modal
    from bot.views.digest import digest_blocks
    from policies.rules import Batching
    from policies.teams import Team
    from signoff import digests
    from signoff.batches import Batches
    from signoff.logging import configure_logging
    from signoff.runtime import Runtime
    from signoff_app.sandbox import SlackSandbox

    configure_logging("json", "warning")
    sandbox = SlackSandbox().start()
    with private_redis():
        os.environ.update(SLACK_API_URL=sandbox.api_url, SLACK_BOT_TOKEN=sandbox.token,
                          SLACK_SIGNING_SECRET=sandbox.signing_secret, SIGNOFF_APPROVAL_CHANNEL="#approvals")
        rt = Runtime()
        _ran_unattended(rt, items)
        team = Team(name="ops", channel="#approvals")
        started = time.perf_counter()
        digest = digests.build(rt.connection, team)
        blocks = digest_blocks(digest)
        digest_seconds = time.perf_counter() - started
        assert digest.count == items and len(blocks) <= 50

        pending = _pending(rt, items)
        batches = Batches(rt.connection)
        started = time.perf_counter()
        ids = {batches.add(a, "outbound", Batching(max=BATCH_SIZE)).batch_id for a in pending}
        built = [batch_blocks(batches.get(b), [rt.store.get(i) for i in batches.get(b).items]) for b in ids]
        review_modal(batches.get(next(iter(ids))), pending[:BATCH_SIZE], 0)
        batch_seconds = time.perf_counter() - started
        assert all(len(b) <= 50 for b in built)

        sample = pending[:SAMPLE]
        # One message per action: post it, then update it after the decision.
        per_action = _count_calls(rt, sandbox, [("bot.jobs.slack.post_approval_request", a.id) for a in sample])
        per_action += _count_calls(rt, sandbox, [("bot.jobs.slack.update_approval_message", a.id)
                                                 for a in sample])
        sample_batches = sorted({batches.get(b).id for b in ids if set(batches.get(b).items) & {a.id for a in sample}})
        batched = _count_calls(rt, sandbox, [("bot.jobs.slack.post_batch", b) for b in sample_batches])
        batched += _count_calls(rt, sandbox, [("bot.jobs.slack.update_batch_message", b) for b in sample_batches])
    sandbox.stop()
    return {"items": items, "digest_build_seconds": digest_seconds, "batch_build_seconds": batch_seconds,
            "batches": len(ids), "slack_calls_per_1000_one_message_each": per_action * 1000 / SAMPLE,
            "slack_calls_per_1000_batched": batched * 1000 / SAMPLE,
            "ratio_calls_batched_to_one_each": batched / per_action}


def report(f: dict[str, Any]) -> str:
    return "\n".join([
        f"Digest and batches, {f['items']} items:",
        f"  digest build (read, filter, order, Block Kit)   {f['digest_build_seconds']:.2f} s",
        f"  batch build ({f['batches']} batches of 20, Block Kit)  {f['batch_build_seconds']:.2f} s",
        f"  Slack calls per 1,000 actions: one message each {f['slack_calls_per_1000_one_message_each']:.0f}, "
        f"batched {f['slack_calls_per_1000_batched']:.0f} (ratio {f['ratio_calls_batched_to_one_each']:.3f})",
    ])


if __name__ == "__main__":
    run("digest", main, report, [10_000])
