"""A preview of the effect, bound to what runs: the worker runs the action's preview before posting,
the reviewer sees it, the approval signs it, and a preview that changed by the time of the run sends
the action back to a person. Real worker, web process and sandbox."""

from __future__ import annotations

import json
from typing import Any

from signoff import Status, lifecycle
from signoff.keys import action_key
from tests.actions import adjust_balance, purge_rows
from tests.helpers import wait_status, when_key_changes
from tests.slack_helpers import approval_message, opened_view, text_of, updated_with

POLICY = ("rules:\n  - name: money\n    match: {type: [adjust_balance, purge_rows]}\n    mode: approve\n"
          "  - name: rest\n    mode: auto\n")
ROWS = [f"order {n:04d} · ada@example.com · 2019-03-{n % 28 + 1:02d}" for n in range(200)]


def long_preview(rt: Any) -> Any:
    """A delete whose preview (200 rows) is longer than a message shows."""
    rt.connection.delete("test:rows:orders")
    rt.connection.rpush("test:rows:orders", *ROWS)
    ticket = purge_rows.request(table="orders", agent="cleanup-bot", reason="orders older than five years")
    return _previewed(rt, ticket.id)


def _previewed(rt: Any, action_id: str) -> Any:
    """Once its preview is recorded: the worker runs it right after routing, before posting."""
    wait_status(rt, action_id, Status.PENDING_APPROVAL)
    return when_key_changes(rt, action_key(action_id), lambda: (a := rt.store.get(action_id)).preview and a,
                            "the preview is recorded")


def _held(rt: Any, amount: float = 30) -> Any:
    rt.connection.set("test:balance:acc_1", "100")
    ticket = adjust_balance.request(account="acc_1", amount=amount, agent="billing-bot", reason="goodwill credit")
    return _previewed(rt, ticket.id)


def test_the_reviewer_sees_the_preview_and_the_approved_effect_runs(rt, workers, slack_env, policy_file,
                                                                     sandbox, bot) -> None:
    workers.start(extra_env=slack_env, policy=policy_file(POLICY))
    action = _held(rt)
    assert action.preview["text"] == "acc_1: balance 100 to 130"
    message = approval_message(sandbox, action.id)
    assert "acc_1: balance 100 to 130" in text_of(message.blocks)
    sandbox.interactions.click(message, "signoff_approve", "U0ALICE")
    assert wait_status(rt, action.id, Status.SUCCEEDED).result == {"balance": 130}


def test_a_long_preview_shows_its_start_and_the_whole_of_it_one_click_away(rt, workers, slack_env, policy_file,
                                                                         sandbox, bot) -> None:
    workers.start(extra_env=slack_env, policy=policy_file(POLICY))
    action = long_preview(rt)
    message = approval_message(sandbox, action.id)
    shown = text_of(message.blocks)
    assert ROWS[0] in shown and ROWS[-1] not in shown  # the message holds what fits
    sandbox.interactions.click(message, "signoff_show_preview", "U0ALICE")
    modal = opened_view(sandbox, "signoff_full_value").view
    whole = "".join(block["text"]["text"] for block in modal["blocks"])  # pieces of one text, in order
    assert whole == "\n".join(f"- {row}" for row in ROWS)


def test_a_record_that_changed_after_the_yes_sends_it_back_with_the_new_preview(rt, workers, slack_env,
                                                                                 policy_file, sandbox, bot) -> None:
    workers.start(extra_env=slack_env, policy=policy_file(POLICY))
    action = _held(rt)
    message = approval_message(sandbox, action.id)
    approved = lifecycle.decide(rt, action.id, "approve", by="slack:U0ALICE", follow_up=False)
    rt.connection.set("test:balance:acc_1", "500")  # someone else changed the account meanwhile
    lifecycle.follow_up(rt, approved)
    held = wait_status(rt, action.id, Status.PENDING_APPROVAL)
    assert "the effect changed since you approved it" in held.risk[-1]
    assert held.preview["text"] == "acc_1: balance 500 to 530"
    updated_with(sandbox, message, "balance 500 to 530")
    assert rt.connection.get("test:balance:acc_1") == b"500"  # nothing ran


def test_an_edited_action_shows_its_edited_effect_before_it_runs(rt, workers, policy_file) -> None:
    workers.start(policy=policy_file(POLICY))
    action = _held(rt)
    lifecycle.decide(rt, action.id, "approve", by="slack:U0ALICE", params={"amount": 50})
    held = when_key_changes(rt, action_key(action.id), lambda: (a := rt.store.get(action.id)).status
                            == Status.PENDING_APPROVAL and a.version > 2 and a, "held again with the edited effect")
    assert "it was edited, and this is what the edited action would change" in held.risk[-1]
    assert held.preview["text"] == "acc_1: balance 100 to 150" and held.params["amount"] == 50
    lifecycle.decide(rt, action.id, "approve", by="slack:U0ALICE")
    assert wait_status(rt, action.id, Status.SUCCEEDED).result == {"balance": 150}


def test_a_preview_rewritten_in_redis_breaks_the_approval(rt, workers, policy_file) -> None:
    workers.start(policy=policy_file(POLICY))
    action = _held(rt)
    doc = json.loads(rt.connection.get(action_key(action.id)))
    doc["preview"] = json.dumps({"text": "acc_1: balance 100 to 101", "digest": "0" * 64})
    rt.connection.set(action_key(action.id), json.dumps(doc))
    lifecycle.decide(rt, action.id, "approve", by="slack:U0ALICE")  # the reviewer saw the forged preview
    held = wait_status(rt, action.id, Status.PENDING_APPROVAL)
    assert "the effect changed since you approved it" in held.risk[-1]
    assert held.preview["text"] == "acc_1: balance 100 to 130" and rt.connection.get("test:balance:acc_1") == b"100"


def test_a_preview_that_fails_is_shown_as_such_and_the_action_still_waits(rt, workers, slack_env, policy_file,
                                                                          sandbox, bot) -> None:
    workers.start(extra_env=slack_env, policy=policy_file(POLICY))
    rt.connection.delete("test:balance:acc_9")
    ticket = adjust_balance.request(account="acc_9", amount=5, agent="billing-bot", reason="credit")
    action = _previewed(rt, ticket.id)
    assert action.preview["error"].startswith("the preview failed: LookupError: no account acc_9")
    assert "Preview failed" in text_of(approval_message(sandbox, action.id).blocks)


def test_a_preview_keeps_the_jobs_own_timeout() -> None:
    import signal

    from signoff import previews

    signal.setitimer(signal.ITIMER_REAL, 100)  # as RQ's death penalty sets it in a work horse
    previous = signal.signal(signal.SIGALRM, lambda *_: None)
    try:
        assert previews.run(lambda: "fine", {})["text"] == "fine"
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 90 < left <= 100  # still armed for what is left of it
        slow = previews.run(lambda: __import__("time").sleep(2), {}, timeout=0.05)  # a preview that hangs
        assert slow["error"] == "the preview took longer than 0.05 s"
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 90
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
