"""Deadlines, fallbacks, reminders, escalation chains, quorum, business hours and freezes.

Time is driven by the tests (`advance`): nothing here sleeps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from signoff import Signoff, Status
from signoff.store import AlreadyVoted
from tests.actions import issue_refund, send_email, update_crm
from tests.helpers import advance, wait_status
from tests.slack_helpers import approval_message, ephemeral_to, text_of, thread_reply, updated_with

ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"


def _rule(extra: str, mode: str = "approve") -> str:
    return f"oncall: {{finance: U0CAROL}}\nrules:\n  - name: money\n    match: {{category: financial}}\n" \
           f"    mode: {mode}\n{extra}  - name: rest\n    mode: auto\n"


def _refund(rt: Any) -> Any:
    ticket = issue_refund.request(customer_id="cus_1", amount=900, agent="support-bot", reason="angry customer")
    wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    return ticket


def test_an_action_nobody_decides_expires_and_never_runs(rt, workers, slack_env, policy_file, sandbox, bot) -> None:
    workers.start(extra_env=slack_env, policy=policy_file(_rule("    deadline: 1h\n")))
    ticket = _refund(rt)
    message = approval_message(sandbox, ticket.id)
    assert "Expires" in text_of(message.blocks)
    advance(rt, 30 * 60)
    assert rt.store.get(ticket.id).status == Status.PENDING_APPROVAL  # not yet
    advance(rt, 61 * 60)
    outcome = ticket.wait(timeout=20)
    assert (outcome.status, outcome.decided_by) == (Status.EXPIRED, "policy:deadline")
    updated_with(sandbox, message, "Expired")
    assert all(b.get("block_id") != "signoff_decision" for b in message.blocks)  # no buttons left to click
    assert rt.connection.llen("test:sent") == 0


def test_a_rule_may_fall_back_to_a_rejection_with_a_note(rt, workers, policy_file) -> None:
    workers.start(policy=policy_file(_rule("    deadline: 2h\n    on_expiry: reject\n"
                                          "    expiry_note: Refunds not approved within 2h are declined\n")))
    ticket = _refund(rt)
    advance(rt, 3 * 3600)
    outcome = ticket.wait(timeout=20)
    assert (outcome.status, outcome.note) == (Status.REJECTED, "Refunds not approved within 2h are declined")


def test_reminders_mention_the_approvers_before_the_deadline(rt, workers, slack_env, policy_file, sandbox,
                                                             bot) -> None:
    workers.start(extra_env=slack_env, policy=policy_file(_rule(
        "    deadline: 1h\n    remind_every: 20m\n    approvers: {users: [U0ALICE]}\n")))
    ticket = _refund(rt)
    message = approval_message(sandbox, ticket.id)
    advance(rt, 21 * 60)
    reminder = thread_reply(sandbox, message)
    assert reminder.text.startswith(":bell: Reminder: <@U0ALICE>, this still waits for a decision.")


def test_each_escalation_level_is_asked_in_turn_and_the_last_ones_silence_expires(
        rt, workers, slack_env, policy_file, sandbox, bot) -> None:
    chain = ("    escalation:\n      - {approvers: {users: [U0ALICE]}, after: 30m}\n"
             "      - {approvers: {groups: [S0FINANCE]}, after: 1h}\n      - {oncall: finance, after: 1h}\n")
    workers.start(extra_env=slack_env, policy=policy_file(_rule(chain)))
    ticket = _refund(rt)
    message = approval_message(sandbox, ticket.id)
    sandbox.interactions.click(message, "signoff_approve", BOB)  # level 2 is not asked yet
    ephemeral_to(sandbox, BOB, "can't decide")

    advance(rt, 31 * 60)
    updated_with(sandbox, message, "Escalated to level 2 of 3: now asking <!subteam^S0FINANCE>")
    assert "now asking <!subteam^S0FINANCE>" in thread_reply(sandbox, message).text
    advance(rt, 61 * 60)
    updated_with(sandbox, message, "Escalated to level 3 of 3: now asking <@U0CAROL>")  # the on-call person
    steps = [e.note for e in Signoff(connection=rt.connection).audit(action_id=ticket.id) if e.step == "escalated"]
    assert len(steps) == 2 and steps[1].endswith("now asking U0CAROL")
    advance(rt, 61 * 60)
    assert ticket.wait(timeout=20).status == Status.EXPIRED


def test_an_escalated_level_can_decide(rt, workers, slack_env, policy_file, sandbox, bot) -> None:
    chain = ("    escalation:\n      - {approvers: {users: [U0ALICE]}, after: 30m}\n"
             "      - {approvers: {users: [U0BOB]}, after: 1h}\n")
    workers.start(extra_env=slack_env, policy=policy_file(_rule(chain)))
    ticket = _refund(rt)
    message = approval_message(sandbox, ticket.id)
    advance(rt, 31 * 60)
    updated_with(sandbox, message, "now asking <@U0BOB>")
    sandbox.interactions.click(message, "signoff_approve", BOB)
    assert ticket.wait(timeout=20).status == Status.SUCCEEDED


def test_quorum_counts_one_vote_per_person_and_shows_each(rt, workers, slack_env, policy_file, sandbox, bot) -> None:
    workers.start(extra_env=slack_env, policy=policy_file(_rule("    approvals: 2\n")))
    ticket = _refund(rt)
    message = approval_message(sandbox, ticket.id)
    sandbox.interactions.click(message, "signoff_approve", ALICE)
    updated_with(sandbox, message, "Approvals: <@U0ALICE> (1 of 2 needed)")
    sandbox.interactions.click(message, "signoff_approve", ALICE)
    ephemeral_to(sandbox, ALICE, "You have already approved this; it needs one more person.")
    assert rt.store.get(ticket.id).status == Status.PENDING_APPROVAL
    sandbox.interactions.click(message, "signoff_approve", BOB)
    outcome = ticket.wait(timeout=20)
    assert (outcome.status, outcome.note) == (Status.SUCCEEDED, "2 of 2 approvals")
    updated_with(sandbox, message, "*Approved* by <@U0ALICE>, <@U0BOB>")  # every approver, not only the last
    steps = [(e.step, e.actor) for e in Signoff(connection=rt.connection).audit(action_id=ticket.id)]
    assert ("voted", f"slack:{ALICE}") in steps and ("voted", f"slack:{BOB}") in steps


def test_any_rejection_vetoes_a_quorum(rt, workers, policy_file) -> None:
    workers.start(policy=policy_file(_rule("    approvals: 2\n")))
    ticket = _refund(rt)
    signoff = Signoff(connection=rt.connection)
    signoff.decide(ticket.id, "approve", by="alice")
    try:
        signoff.decide(ticket.id, "approve", by="alice")
    except AlreadyVoted as twice:
        assert str(twice) == f"alice has already approved {ticket.id}; it needs one more person"
    signoff.decide(ticket.id, "reject", by="bob", note="veto")
    assert ticket.wait(timeout=5).status == Status.REJECTED
    assert rt.connection.llen("test:sent") == 0


def test_a_restart_loses_no_deadline(rt, workers, policy_file) -> None:
    policy = policy_file(_rule("    deadline: 1h\n"))
    first = workers.start(policy=policy)
    ticket = _refund(rt)
    first.terminate()
    first.wait(10)
    workers.start(policy=policy)  # the deadline lives in Redis, with RQ's scheduled jobs
    advance(rt, 2 * 3600)
    assert ticket.wait(timeout=20).status == Status.EXPIRED


def test_a_freeze_and_after_hours_make_runnable_actions_wait(rt, workers, policy_file) -> None:
    now = datetime.now(UTC)
    start, end = (now - timedelta(days=1)).isoformat(), (now + timedelta(days=1)).isoformat()
    closed_hours = f"{(now + timedelta(hours=2)):%H}:00"
    workers.start(policy=policy_file(
        "rules:\n"
        f"  - name: crm\n    match: {{type: update_crm}}\n    mode: auto\n"
        f"    freezes: [{{start: '{start}', end: '{end}', reason: year-end freeze}}]\n"
        f"  - name: mail\n    match: {{type: send_email}}\n    mode: auto\n"
        f"    outside_hours: {{timezone: UTC, days: [mon, tue, wed, thu, fri, sat, sun], "
        f"start: '{closed_hours}', end: '{closed_hours[:2]}:30'}}\n"))
    frozen = update_crm.request(record_id="1", field="f", value="v", agent="crm-bot", reason="r")
    late = send_email.request(to="a@client.com", subject="s", body="b", agent="mail-bot", reason="r")
    assert wait_status(rt, frozen.id, Status.PENDING_APPROVAL).risk[0].startswith("year-end freeze until ")
    assert wait_status(rt, late.id, Status.PENDING_APPROVAL).risk[0].startswith("outside business hours")


def test_the_submitter_never_counts_toward_a_quorum(rt, workers, policy_file) -> None:
    import pytest

    from signoff import NotAllowed

    workers.start(policy=policy_file(_rule("    approvals: 2\n")))
    ticket = _refund(rt)
    with pytest.raises(NotAllowed, match=r"^support-bot submitted this action or owns its agent, so cannot decide it$"):
        Signoff(connection=rt.connection).decide(ticket.id, "approve", by="support-bot")
    assert rt.store.get(ticket.id).votes == []


def test_an_escalation_fired_twice_at_once_asks_the_next_level_once(rt, workers, policy_file) -> None:
    import threading

    from signoff import deadlines

    chain = ("    escalation:\n      - {approvers: {users: [U0ALICE]}, after: 30m}\n"
             "      - {approvers: {users: [U0BOB]}, after: 1h}\n")
    workers.start(policy=policy_file(_rule(chain)))
    for _ in range(10):  # a race: ten chances to meet it
        ticket = _refund(rt)
        # The second-by-second job and the sweep's catch-up can fire the same due moment together.
        start = threading.Barrier(2)
        outcomes: list[Any] = []

        def fire(action_id: str = ticket.id, start: threading.Barrier = start, outcomes: list[Any] = outcomes) -> None:
            start.wait()
            outcomes.append(deadlines.escalate(rt, action_id, 1))

        firing = [threading.Thread(target=fire) for _ in range(2)]
        for thread in firing:
            thread.start()
        for thread in firing:
            thread.join()
        assert sum(outcome is not None for outcome in outcomes) == 1
        steps = [e.step for e in Signoff(connection=rt.connection).audit(action_id=ticket.id)]
        assert steps.count("escalated") == 1
        assert rt.store.get(ticket.id).waiting.level == 1
