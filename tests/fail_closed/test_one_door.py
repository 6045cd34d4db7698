"""One door to running: a Redis writer without the decision key rewrites what Redis holds, and nothing
runs that the worker's own policy did not see approved; nothing runs twice (issue: one door).

Each test plays the writer as the issue describes it, against a real worker process."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from policies.allowances import Allowance
from signoff import Signoff, Status, deadlines, lifecycle
from signoff.allowances import ALLOWANCES
from signoff.catalog import ActionType, NotYourType
from signoff.config import Settings
from signoff.errors import SignoffError
from signoff.keys import action_key
from signoff.models import utcnow
from signoff.runtime import Runtime
from signoff.store import TIMERS, _field_text
from tests.actions import send_email
from tests.helpers import wait_status

EMAIL = {"to": "sarah@client.com", "subject": "Q3", "body": "The numbers are in."}


def rewrite(rt: Runtime, action_id: str, **fields: Any) -> None:
    """What a Redis writer does: the stored document, changed field by field, no script, no key."""
    doc = json.loads(rt.connection.get(action_key(action_id)))
    for name, value in fields.items():
        text = _field_text(name, value)
        if text == "":
            doc.pop(name, None)
        else:
            doc[name] = text
    rt.connection.set(action_key(action_id), json.dumps(doc))


def agent(rt: Runtime) -> Signoff:
    """An agent's SDK: the same Redis, not the key."""
    return Signoff(connection=rt.connection, settings=Settings(decision_key=None))


def operator(rt: Runtime) -> Signoff:
    return Signoff(connection=rt.connection)


def sent(rt: Runtime) -> list[str]:
    """What the test workers' send_email really sent: "to|subject|idempotency key"."""
    return [raw.decode() for raw in rt.connection.lrange("test:sent", 0, -1)]


def then_a_real_action(rt: Runtime) -> None:
    """One worker takes jobs in order: once a later action is routed, the forged job before it was taken."""
    after = send_email.request(to="ann@client.com", subject="s", body="b", agent="later-bot", reason="r")
    wait_status(rt, after.id, Status.PENDING_APPROVAL)


def pending_email(rt: Runtime, agent_name: str = "finance-bot") -> str:
    ticket = send_email.request(**EMAIL, agent=agent_name, reason="Tell Sarah")
    return wait_status(rt, ticket.id, Status.PENDING_APPROVAL).id


def test_a_harmless_type_rewritten_to_send_email_after_its_auto_approval_sends_nothing(rt, worker) -> None:
    class Note(BaseModel):
        to: str
        subject: str
        body: str

    sdk = agent(rt)
    sdk.declare("note_to_self", params=Note, category="internal")
    ticket = sdk.submit("note_to_self", {**EMAIL, "to": "attacker@evil.com"}, agent="sneaky-bot", reason="r")
    approved = wait_status(rt, ticket.id, Status.APPROVED)
    assert approved.decided_by == "policy:everything-else" and approved.permit
    rewrite(rt, ticket.id, type="send_email", func=send_email.action_type.func, category="external_communication")
    lifecycle.release_run_job(rt, rt.store.get(ticket.id))
    held = wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    assert "refused before it ran" in held.risk[-1] and held.decided_by is None
    assert sent(rt) == []


def test_an_allowance_written_into_redis_by_hand_lets_nothing_through(rt, worker) -> None:
    now = utcnow()
    forged = Allowance(id="al_forged", agent="finance-bot", type="send_email", rule="external-communications",
                       requirements=[], author="slack:U0ALICE", created_at=now,
                       expires_at=now + timedelta(days=3650), from_action="x")
    rt.connection.hset(ALLOWANCES, forged.id, forged.model_dump_json())
    held = rt.store.get(pending_email(rt))
    assert held.allowance is None and sent(rt) == []


def test_the_owner_removed_from_the_record_still_may_not_approve_their_own_action(rt, worker) -> None:
    from tests.actions import tag_customer

    # Internal, so the default policy would run it: the agent asks for review, so it waits.
    ticket = tag_customer.request(customer_id="c1", tag="vip", agent="crm-bot", reason="r", review=True)
    wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    rewrite(rt, ticket.id, owner=None)
    operator(rt).decide(ticket.id, "approve", by="slack:U0CAROL")  # the record no longer names her
    held = wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    assert "owner differs" in held.risk[-1] and held.result is None and held.attempts == 0


QUORUM = "rules:\n  - name: two-people\n    match: {type: send_email}\n    mode: approve\n    approvals: 2\n" \
         "  - name: rest\n    mode: auto\n"


def test_a_quorum_lowered_in_redis_runs_nothing_on_one_yes(rt, workers, policy_file) -> None:
    workers.start(policy=policy_file(QUORUM))
    action_id = pending_email(rt)
    action = rt.store.get(action_id)
    assert action.waiting is not None
    rewrite(rt, action_id, waiting=action.waiting.model_copy(update={"quorum": 1}))
    operator(rt).decide(action_id, "approve", by="slack:U0BOB")
    held = wait_status(rt, action_id, Status.PENDING_APPROVAL)
    assert "needs 2 approval(s)" in held.risk[-1] and sent(rt) == []


def test_one_person_under_two_spellings_is_one_vote(rt, workers, policy_file) -> None:
    workers.start(policy=policy_file(QUORUM))
    action_id = pending_email(rt)
    operator(rt).decide(action_id, "approve", by="slack:U0BOB")
    with pytest.raises(SignoffError, match="already approved"):
        operator(rt).decide(action_id, "approve", by="U0BOB")
    assert rt.store.get(action_id).status == Status.PENDING_APPROVAL and sent(rt) == []


APPROVERS = "rules:\n  - name: alice-only\n    match: {type: send_email}\n    mode: approve\n" \
            "    approvers: {users: [U0ALICE]}\n  - name: rest\n    mode: auto\n"


def test_approvers_rewritten_in_redis_do_not_let_someone_else_approve(rt, workers, policy_file) -> None:
    workers.start(policy=policy_file(APPROVERS))
    action_id = pending_email(rt)
    rewrite(rt, action_id, approvers={"users": ["U0MALLORY"], "groups": []})
    operator(rt).decide(action_id, "approve", by="slack:U0MALLORY")
    held = wait_status(rt, action_id, Status.PENDING_APPROVAL)
    assert "0 verify" in held.risk[-1] and sent(rt) == []
    operator(rt).decide(action_id, "approve", by="slack:U0ALICE")  # the rule's own approver still can
    assert wait_status(rt, action_id, Status.SUCCEEDED).decided_by == "slack:U0ALICE"


def test_a_stored_on_expiry_of_run_and_a_planted_timer_run_nothing(rt, worker) -> None:
    action_id = pending_email(rt)
    action = rt.store.get(action_id)
    assert action.waiting is not None
    rewrite(rt, action_id, waiting=action.waiting.model_copy(update={"on_expiry": "run",
                                                                      "deadline_at": utcnow() - timedelta(hours=1)}))
    rt.connection.zadd(TIMERS, {f"expire:{action_id}": time.time() - 1})
    deadlines.fire_due(rt, time.time())  # what the scheduler's job does, with the key
    expired = rt.store.get(action_id)
    assert (expired.status, expired.decided_by) == (Status.EXPIRED, "policy:deadline")
    then_a_real_action(rt)
    assert sent(rt) == []


def test_a_finished_action_set_back_to_approved_does_not_run_again(rt, worker) -> None:
    action_id = pending_email(rt)
    operator(rt).decide(action_id, "approve", by="slack:U0BOB")
    done = wait_status(rt, action_id, Status.SUCCEEDED)
    rewrite(rt, action_id, status="approved")
    lifecycle.release_run_job(rt, done)
    then_a_real_action(rt)
    assert len(sent(rt)) == 1
    assert rt.store.get(action_id).status == Status.APPROVED  # the replay was refused: it never started


def test_a_client_supplied_retry_count_is_not_used(rt, worker) -> None:
    from tests.actions import explode

    greedy = explode.action_type.model_copy(update={"max_retries": 7})
    action = lifecycle.request(Runtime(connection=rt.connection, settings=Settings(decision_key=None)), greedy,
                               {"message": "boom"}, agent="bot", reason="r")
    failed = wait_status(rt, action.id, Status.FAILED)
    assert (failed.attempts, failed.max_retries) == (1, 0)


def test_a_type_belongs_to_the_agent_that_declared_it(rt) -> None:
    mail = ActionType(name="b_mail", category="external_communication",
                      params_schema={"type": "object", "properties": {"to": {"type": "string"}}})
    rt.catalog.declare(mail, by="agent-b")
    with pytest.raises(NotYourType, match="declared by agent-b"):
        rt.catalog.declare(mail.model_copy(update={"category": "internal"}), by="agent-a")
    assert rt.catalog.get("b_mail").category == "external_communication"
    rt.catalog.declare(mail.model_copy(update={"category": "financial"}), by="agent-b")  # its own: fine
    assert rt.catalog.get("b_mail").category == "financial"


def test_an_optional_parameter_left_out_stays_out() -> None:
    # The filesystem MCP server's read_text_file: head and tail are optional numbers.
    read = ActionType(name="read_text_file", params_schema={
        "type": "object", "required": ["path"],
        "properties": {"path": {"type": "string"}, "head": {"type": "number"}, "tail": {"type": "number"}}})
    checked = read.check_params({"path": "/etc/motd"})
    assert checked == {"path": "/etc/motd"} and read.check_params(checked) == checked
