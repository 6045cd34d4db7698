"""The scheduler's sweep finds what a crash left behind, however many other actions there are."""

from __future__ import annotations

from signoff import Status, lifecycle
from signoff.models import Action, AuditEvent
from tests.actions import send_email
from tests.helpers import wait_status


def _approved_for_their_agents(rt, count: int) -> None:  # type: ignore[no-untyped-def]
    """`count` newer approved actions that their agents carry out themselves: no run job to queue."""
    for i in range(count):
        action = Action(type="send_email", agent="mail-bot", reason="r", params={"to": f"p{i}@client.com"},
                        status=Status.APPROVED)
        rt.store.create(action, AuditEvent(action_id=action.id, step="approved", actor="slack:U0BOB"))


def test_an_approval_whose_run_was_never_queued_runs_even_behind_a_thousand_newer_ones(rt, worker) -> None:
    ticket = send_email.request(to="sarah@client.com", subject="Q3", body="b", agent="finance-bot", reason="r")
    wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    # The decision is recorded, and its decider dies before queueing the run (the Slack app
    # acknowledges the click in between the two).
    lifecycle.decide(rt, ticket.id, "approve", by="slack:U0BOB", follow_up=False)
    _approved_for_their_agents(rt, 1_000)
    sweep = rt.actions_queue.enqueue("workers.maintenance.sweep", result_ttl=60)
    assert sweep.latest_result(timeout=30).return_value["stranded"] == 1
    assert ticket.wait(timeout=20).status == Status.SUCCEEDED
