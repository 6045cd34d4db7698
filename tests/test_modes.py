"""Each policy mode, end to end through a real worker process."""

from __future__ import annotations

from policies.routing import REVIEW_ASKED
from signoff import Signoff, Status
from signoff.models import Review
from tests.actions import issue_refund, send_email, update_crm
from tests.helpers import wait_status

ESCALATE_POLICY = """
own_domains: [acme.com]
runaway: {max_actions: 5, window: 60s}
rules:
  - name: refunds
    match: {type: issue_refund}
    mode: escalate
    unusual:
      amount: {param: amount, factor: 3, min_history: 3}
  - name: email
    match: {type: send_email}
    mode: escalate
    unusual:
      new_recipient: {param: to}
  - name: crm-later
    match: {type: update_crm}
    mode: post_hoc
"""


def test_auto_runs_at_once_and_records_the_result(rt, worker) -> None:
    ticket = update_crm.request(record_id="42", field="stage", value="won", agent="crm-bot", reason="deal closed")
    outcome = ticket.wait(timeout=20)
    assert outcome.status == Status.SUCCEEDED
    assert outcome.result == {"record_id": "42"}
    assert outcome.decided_by == "policy:everything-else"
    assert rt.connection.lrange("test:crm", 0, -1) == [b"42.stage=won"]


def test_approve_waits_then_runs_once_with_the_approvers_name(rt, worker) -> None:
    ticket = send_email.request(to="sarah@client.com", subject="Q3", body="Numbers", agent="finance-bot",
                                reason="Sarah asked")
    action = wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    assert action.rule == "external-communications"
    assert rt.connection.llen("test:sent") == 0
    Signoff(connection=rt.connection).decide(ticket.id, "approve", by="alice", note="fine")
    outcome = ticket.wait(timeout=20)
    assert (outcome.status, outcome.decided_by, outcome.note) == (Status.SUCCEEDED, "alice", "fine")
    assert rt.connection.lrange("test:sent", 0, -1) == [f"sarah@client.com|Q3|signoff-{ticket.id}".encode()]


def test_rejection_leaves_nothing_to_run_and_tells_the_agent_why(rt, worker) -> None:
    from rq.job import Job

    from signoff.lifecycle import run_job_id

    ticket = issue_refund.request(customer_id="c1", amount=900, agent="support-bot", reason="angry customer")
    wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    Signoff(connection=rt.connection).decide(ticket.id, "reject", by="bob", note="over the refund limit")
    outcome = ticket.wait(timeout=5)
    assert (outcome.status, outcome.decided_by, outcome.note) == (Status.REJECTED, "bob", "over the refund limit")
    # Nothing that could run it was ever queued, and nothing is left behind for it.
    assert not Job.exists(run_job_id(ticket.id, 1), connection=rt.connection)
    assert rt.actions_queue.job_ids == [] and rt.store.get(ticket.id).attempts == 0


def test_an_edit_runs_with_the_edited_parameters_and_keeps_both_versions(rt, worker) -> None:
    ticket = send_email.request(to="sarah@client.com", subject="Q3", body="Draft", agent="finance-bot", reason="r")
    wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    Signoff(connection=rt.connection).decide(ticket.id, "approve", by="alice",
                                             params={"to": "sarah@client.com", "subject": "Q3 numbers",
                                                     "body": "Final"})
    outcome = ticket.wait(timeout=20)
    assert outcome.status == Status.SUCCEEDED
    assert outcome.params["subject"] == "Q3 numbers"
    action = rt.store.get(ticket.id)
    assert action.original_params == {"to": "sarah@client.com", "subject": "Q3", "body": "Draft"}
    assert action.version == 2
    assert rt.connection.lrange("test:sent", 0, -1)[0].startswith(b"sarah@client.com|Q3 numbers|")


def test_submitted_action_without_a_function_settles_as_approved_for_the_agent(rt, worker) -> None:
    from pydantic import BaseModel

    class Post(BaseModel):
        text: str

    signoff = Signoff(connection=rt.connection)
    signoff.declare("post_linkedin", params=Post, category="external_communication")
    ticket = signoff.submit("post_linkedin", {"text": "Launch!"}, agent="social-bot", reason="launch day")
    wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    signoff.decide(ticket.id, "approve", by="carol")
    outcome = ticket.wait(timeout=5)
    assert (outcome.status, outcome.decided_by) == (Status.APPROVED, "carol")


def test_batch_mode_waits_for_a_decision(rt, workers, policy_file) -> None:
    workers.start(policy=policy_file("rules:\n  - {name: outbound, match: {type: send_email}, mode: batch}\n"))
    ticket = send_email.request(to="a@client.com", subject="s", body="b", agent="sales-bot", reason="r")
    action = wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    assert (action.mode, action.rule) == ("batch", "outbound")


def test_post_hoc_runs_now_and_is_marked_for_review(rt, workers, policy_file) -> None:
    workers.start(policy=policy_file(ESCALATE_POLICY))
    ticket = update_crm.request(record_id="7", field="owner", value="ann", agent="crm-bot", reason="r")
    assert ticket.wait(timeout=20).status == Status.SUCCEEDED
    assert rt.store.get(ticket.id).review == Review.PENDING


def test_escalate_runs_usual_amounts_and_holds_one_far_above(rt, workers, policy_file) -> None:
    workers.start(policy=policy_file(ESCALATE_POLICY))
    for amount in (40, 50, 60):
        assert issue_refund.request(customer_id="c", amount=amount, agent="support-bot",
                                    reason="r").wait(20).status == Status.SUCCEEDED
    held = issue_refund.request(customer_id="c", amount=900, agent="support-bot", reason="r")
    action = wait_status(rt, held.id, Status.PENDING_APPROVAL)
    assert action.risk == ["amount 900 is 18.0x this agent's usual 50"]
    usual = issue_refund.request(customer_id="c", amount=55, agent="support-bot", reason="r")
    assert usual.wait(20).status == Status.SUCCEEDED


def test_escalate_holds_a_new_recipient_until_one_has_been_reached(rt, workers, policy_file) -> None:
    workers.start(policy=policy_file(ESCALATE_POLICY))
    first = send_email.request(to="new@client.com", subject="s", body="b", agent="sales-bot", reason="r")
    assert wait_status(rt, first.id, Status.PENDING_APPROVAL).risk == ["never sent to before: new@client.com"]
    Signoff(connection=rt.connection).decide(first.id, "approve", by="alice")
    assert first.wait(20).status == Status.SUCCEEDED
    again = send_email.request(to="new@client.com", subject="s2", body="b", agent="sales-bot", reason="r")
    assert again.wait(20).status == Status.SUCCEEDED


def test_escalate_holds_what_the_agent_asks_to_have_reviewed(rt, workers, policy_file) -> None:
    workers.start(policy=policy_file(ESCALATE_POLICY))
    ticket = issue_refund.request(customer_id="c", amount=10, agent="support-bot", reason="unsure", review=True)
    assert wait_status(rt, ticket.id, Status.PENDING_APPROVAL).risk == [REVIEW_ASKED]


def test_a_runaway_agent_is_paused_and_its_actions_wait(rt, workers, policy_file) -> None:
    workers.start(policy=policy_file(ESCALATE_POLICY))
    tickets = [update_crm.request(record_id=str(n), field="f", value="v", agent="loop-bot", reason="r")
               for n in range(7)]
    statuses = [rt.store.wait_for_status(t.id, {Status.SUCCEEDED, Status.PENDING_APPROVAL}, 20).status
                for t in tickets]
    assert statuses == [Status.SUCCEEDED] * 5 + [Status.PENDING_APPROVAL] * 2
    assert "6 actions in 60s (limit 5)" in rt.store.get(tickets[6].id).risk[0]
    signoff = Signoff(connection=rt.connection)
    assert signoff.resume_agent("loop-bot") is True


def test_approve_everything_is_one_line(rt, workers, policy_file) -> None:
    workers.start(policy="approve_all")
    ticket = update_crm.request(record_id="1", field="f", value="v", agent="crm-bot", reason="r")
    assert wait_status(rt, ticket.id, Status.PENDING_APPROVAL).rule == "approve_everything"
