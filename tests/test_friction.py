"""Friction that grows with the stakes: a typed confirmation before a yes counts (never bypassed by
Approve all, an allowance or a bare CLI approve, and checked again by the door), and a fresh look (a
yes given too soon after the request was posted is refused). Real worker, web process and sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from signoff import Signoff, Status
from signoff.keys import action_key
from tests.actions import issue_refund, send_email
from tests.conftest import ROOT
from tests.helpers import wait_status
from tests.slack_helpers import approval_message, ephemeral_to, opened_view, text_of

TYPED = ("rules:\n  - name: large-refunds\n    match: {type: issue_refund}\n    mode: approve\n"
         "    confirm: typed\n    channel: '#approvals'\n"
         "  - name: outbound\n    match: {type: send_email}\n    mode: batch\n    confirm: typed\n"
         "    batch: {window: 1h, max: 2, group_by: [type]}\n  - name: rest\n    mode: auto\n")
FRESH = ("rules:\n  - name: outbound\n    match: {type: send_email}\n    mode: approve\n"
         "    min_review_seconds: 30\n  - name: rest\n    mode: auto\n")


def _refund(rt: Any) -> Any:
    ticket = issue_refund.request(customer_id="cus_9", amount=1200, agent="support-bot", reason="angry customer")
    wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    return ticket


def test_a_yes_counts_once_the_reviewer_typed_the_amount(rt, workers, slack_env, policy_file, sandbox, bot) -> None:
    workers.start(extra_env=slack_env, policy=policy_file(TYPED))
    ticket = _refund(rt)
    message = approval_message(sandbox, ticket.id)
    assert "signoff_edit" not in json.dumps(message.blocks)  # an edit would skip the typing
    sandbox.interactions.click(message, "signoff_approve", "U0ALICE")
    modal = opened_view(sandbox, "signoff_confirm_modal")
    assert "Type 1,200 to approve" in json.dumps(modal.view)
    status, answer = sandbox.interactions.submit(modal.id, "U0ALICE", {"typed": "1,000"})
    assert status == 200 and "That is not the amount: type 1,200." in answer  # the modal stays, saying why
    assert rt.store.get(ticket.id).status == Status.PENDING_APPROVAL
    sandbox.interactions.submit(modal.id, "U0ALICE", {"typed": "1200"})
    outcome = ticket.wait(timeout=20)
    assert (outcome.status, outcome.decided_by) == (Status.SUCCEEDED, "slack:U0ALICE")
    assert rt.store.get(ticket.id).votes[0]["typed"] == "1200"  # signed with the yes
    held = next(e for e in Signoff(connection=rt.connection).audit(action_id=ticket.id) if e.step == "held")
    assert held.friction == "typed"  # `signoff stats` compares the glance share before and after


def test_no_path_around_the_typing(rt, workers, slack_env, policy_file, sandbox, bot) -> None:
    workers.start(extra_env=slack_env, policy=policy_file(TYPED))
    ticket = _refund(rt)
    bare = subprocess.run([sys.executable, "-m", "signoff_app.cli", "approve", ticket.id, "--by", "U0ALICE"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bare.returncode == 1 and "asks the reviewer to type the amount (1,200)" in bare.stderr
    typed = subprocess.run([sys.executable, "-m", "signoff_app.cli", "approve", ticket.id, "--by", "U0ALICE",
                            "--typed", "1,200"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert typed.returncode == 0, typed.stderr
    assert ticket.wait(timeout=20).status == Status.SUCCEEDED

    emails = [send_email.request(to=f"lead{i}@client.com", subject="Intro", body="Hi", agent="sales-bot",
                                 reason="new lead") for i in range(2)]
    batch = sandbox.wait_for(lambda: next((m for m in sandbox.workspace.messages
                                           if "Approve these 2 actions" in text_of(m.blocks)), None))
    sandbox.interactions.click(batch, "signoff_batch_approve_all", "U0ALICE")
    told = ephemeral_to(sandbox, "U0ALICE", "not decided by you")
    assert "asks the reviewer to type the recipient's domain (client.com)" in told.text
    assert all(rt.store.get(t.id).status == Status.PENDING_APPROVAL for t in emails)


def test_a_yes_without_the_typing_written_into_redis_is_refused_by_the_door(rt, workers, policy_file) -> None:
    from signoff import lifecycle

    workers.start(policy=policy_file(TYPED))
    ticket = _refund(rt)
    approved = lifecycle.decide(rt, ticket.id, "approve", by="slack:U0ALICE", typed="1200")
    # A writer without the key strips the typed confirmation from the signed vote: it no longer verifies.
    doc = json.loads(rt.connection.get(action_key(ticket.id)))
    votes = json.loads(doc["votes"])
    votes[0].pop("typed")
    doc["votes"] = json.dumps(votes)
    rt.connection.set(action_key(ticket.id), json.dumps(doc))
    assert approved.status == Status.APPROVED
    held = wait_status(rt, ticket.id, Status.PENDING_APPROVAL, Status.SUCCEEDED)
    assert held.status == Status.PENDING_APPROVAL and "refused before it ran" in held.risk[-1]


def test_a_yes_given_too_soon_is_refused_with_take_a_moment(rt, workers, slack_env, policy_file, sandbox,
                                                            bot) -> None:
    workers.start(extra_env=slack_env, policy=policy_file(FRESH))
    ticket = send_email.request(to="sarah@client.com", subject="Renewal", body="Terms", agent="sales-bot",
                                reason="She asked")
    message = approval_message(sandbox, ticket.id)
    sandbox.interactions.click(message, "signoff_approve", "U0ALICE")
    told = ephemeral_to(sandbox, "U0ALICE", "Take a moment to read it")
    assert "30 s after the request was posted" in told.text
    assert rt.store.get(ticket.id).status == Status.PENDING_APPROVAL
    # Time moves on: the request was posted 31 seconds ago, as Redis now records it.
    posted = rt.store.get(ticket.id).slack
    rt.store.annotate(ticket.id, slack={**posted, "ts": f"{time.time() - 31:.6f}"})
    sandbox.interactions.click(message, "signoff_approve", "U0ALICE")
    assert ticket.wait(timeout=20).status == Status.SUCCEEDED
