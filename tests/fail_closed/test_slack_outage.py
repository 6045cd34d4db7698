"""Slack down longer than the retries: the approval request is posted when Slack is back, once."""

from __future__ import annotations

import subprocess
import sys
import time

from signoff import Status
from tests.actions import send_email
from tests.conftest import ROOT
from tests.helpers import advance, wait_status
from tests.slack_helpers import text_of


def _approval_messages(sandbox, action_id: str) -> list:  # type: ignore[no-untyped-def]
    return [m for m in sandbox.workspace.messages if not m.thread_ts and f"`{action_id}`" in text_of(m.blocks)]


def _moved(rt, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    """Releases what RQ's scheduler would start within `seconds`; always true, to chain in a predicate."""
    advance(rt, seconds)
    return True


def _sweep(rt, hours: float = 1) -> int:  # type: ignore[no-untyped-def]
    """The scheduler's minute sweep, as a job on the real worker, its clock moved past every back-off;
    returns how many approval requests it sent to Slack again."""
    job = rt.actions_queue.enqueue("workers.maintenance.sweep", time.time() + hours * 3600, result_ttl=60)
    return int(job.latest_result(timeout=30).return_value["reposted"])


def test_an_approval_request_outlives_a_long_slack_outage(rt, sandbox, slack_worker) -> None:
    sandbox.fail("chat.postMessage", "internal_error", times=6)  # the first try and all five retries
    ticket = send_email.request(to="sarah@client.com", subject="Q3", body="b", agent="finance-bot", reason="r")
    wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    sandbox.wait_for(lambda: len(sandbox.calls_to("chat.postMessage", ok=False)) == 1)
    for tries in range(2, 7):  # RQ's retries, scheduled minutes apart: the test moves the clock
        sandbox.wait_for(lambda n=tries: _moved(rt, 3600) and len(sandbox.calls_to("chat.postMessage", ok=False)) >= n,
                         recheck=0.2)
    assert _approval_messages(sandbox, ticket.id) == []
    listing = subprocess.run([sys.executable, "-m", "signoff_app.cli", "list"], cwd=ROOT, capture_output=True,
                             text=True, timeout=60).stdout
    assert f"{ticket.id}" in listing and "not yet in Slack (6 tries)" in listing

    assert _sweep(rt, hours=2 / 60) == 0  # the last try's own back-off (30 minutes) has not run out
    assert _sweep(rt) == 1  # Slack is back
    sandbox.wait_for(lambda: len(_approval_messages(sandbox, ticket.id)) == 1)
    assert _sweep(rt) == 0  # a later sweep (after the post, on the same worker) finds it posted
    assert rt.store.get(ticket.id).slack.get("ts") == _approval_messages(sandbox, ticket.id)[0].ts


def test_a_post_whose_reply_was_lost_is_found_not_posted_twice(rt, sandbox, slack_worker) -> None:
    sandbox.lose_reply("chat.postMessage")
    ticket = send_email.request(to="sarah@client.com", subject="Q3", body="b", agent="finance-bot", reason="r")
    sandbox.wait_for(lambda: len(_approval_messages(sandbox, ticket.id)) == 1)
    sandbox.wait_for(lambda: _moved(rt, 60) and rt.store.get(ticket.id).slack.get("ts"), recheck=0.2)
    message = _approval_messages(sandbox, ticket.id)[0]
    assert rt.store.get(ticket.id).slack == {"channel": message.channel, "ts": message.ts}
    assert len(sandbox.calls_to("chat.postMessage")) == 1 and len(sandbox.calls_to("conversations.history")) == 1


def _posted_and_waiting(rt, count: int) -> None:  # type: ignore[no-untyped-def]
    """`count` actions held after it, each already in Slack (as the post job leaves them)."""
    from signoff.models import Action, AuditEvent

    for i in range(count):
        action = Action(type="send_email", agent="finance-bot", reason="r", params={"to": f"p{i}@client.com"},
                        status=Status.PENDING_APPROVAL, slack={"channel": "C0APPROVALS", "ts": f"{i}.000100"})
        rt.store.create(action, AuditEvent(action_id=action.id, step="held", actor="policy:external-comms"))


def test_an_approval_request_behind_a_thousand_newer_ones_is_posted_again(rt, sandbox, slack_worker) -> None:
    sandbox.fail("chat.postMessage", "internal_error", times=6)
    ticket = send_email.request(to="sarah@client.com", subject="Q3", body="b", agent="finance-bot", reason="r")
    sandbox.wait_for(lambda: len(sandbox.calls_to("chat.postMessage", ok=False)) == 1)
    for tries in range(2, 7):
        sandbox.wait_for(lambda n=tries: _moved(rt, 3600) and len(sandbox.calls_to("chat.postMessage", ok=False)) >= n,
                         recheck=0.2)
    _posted_and_waiting(rt, 1_000)  # the sweep must find the one not in Slack, however many wait after it
    assert _sweep(rt) == 1
    sandbox.wait_for(lambda: len(_approval_messages(sandbox, ticket.id)) == 1)
    assert _sweep(rt) == 0
