"""Standing allowances ("approve and allow similar"): what they let through, until when, and where never."""

from __future__ import annotations

from datetime import timedelta

import pytest

from policies.allowances import Allowance, Requirement, offered
from signoff import Signoff, Status, allowances
from signoff.errors import SignoffError
from signoff.models import utcnow
from tests.actions import issue_refund, send_email
from tests.helpers import advance, wait_status, when_key_changes
from tests.money_actions import pay_invoice

POLICY = """
own_domains: [ours.example]
rules:
  - name: customer-email
    match: {type: send_email}
    mode: approve
  - name: refunds
    match: {type: issue_refund, when: [{param: amount, le: 1000}]}
    mode: approve
  - name: big-refunds
    match: {type: issue_refund}
    mode: approve
    approvals: 2
  - name: invoices
    match: {type: pay_invoice}
    mode: approve
    no_allowances: true
  - name: everything-else
    mode: auto
"""


@pytest.fixture
def policy_worker(workers, policy_file, monkeypatch):  # type: ignore[no-untyped-def]
    path = policy_file(POLICY)
    monkeypatch.setenv("SIGNOFF_POLICY", path)  # this process reads the same rules as the worker
    return workers.start(policy=path)


def _email(to: str, agent: str = "support-bot") -> str:
    return send_email.request(to=to, subject="Your order", body="It shipped.", agent=agent, reason="customer asked").id


def _refund(amount: float, agent: str = "support-bot") -> str:
    return issue_refund.request(customer_id="c1", amount=amount, agent=agent, reason="late delivery").id


def _approve_and_allow(rt, action_id: str, *ticked: str, days: int = 7) -> Allowance:  # type: ignore[no-untyped-def]
    action = wait_status(rt, action_id, Status.PENDING_APPROVAL)
    Signoff(connection=rt.connection).decide(action_id, "approve", by="slack:U0ALICE")
    wanted = [r for r in offered(action.params) if r.param in ticked]
    return allowances.create(rt, action, by="slack:U0ALICE", days=days, requirements=wanted, reason="routine")


def test_only_the_matching_next_action_runs_without_waiting(rt, policy_worker) -> None:  # type: ignore[no-untyped-def]
    allowance = _approve_and_allow(rt, _email("ann@client.com"), "to")
    assert [r.describe() for r in allowance.requirements] == ["to: only @client.com addresses"]

    similar = wait_status(rt, _email("bea@client.com"), Status.SUCCEEDED)
    assert similar.allowance == {"id": allowance.id, "author": "slack:U0ALICE"}
    assert similar.decided_by == "policy:customer-email"
    allowed = [e for e in Signoff(connection=rt.connection).audit(action_id=similar.id) if e.step == "allowed"]
    assert allowed[0].actor == f"allowance:{allowance.id}"
    assert "allowed by slack:U0ALICE's allowance" in (allowed[0].note or "")

    assert wait_status(rt, _email("cid@other.example"), Status.PENDING_APPROVAL).allowance is None
    assert wait_status(rt, _email("dee@client.com", agent="sales-bot"), Status.PENDING_APPROVAL).allowance is None
    assert allowances.uses(rt, allowance.id) == 1


def test_a_larger_amount_waits(rt, policy_worker) -> None:  # type: ignore[no-untyped-def]
    allowance = _approve_and_allow(rt, _refund(40), "amount", "currency")
    assert [r.describe() for r in allowance.requirements] == ["amount: at most 40", 'currency: exactly "USD"']
    wait_status(rt, _refund(40), Status.SUCCEEDED)
    wait_status(rt, _refund(12.5), Status.SUCCEEDED)
    assert wait_status(rt, _refund(40.01), Status.PENDING_APPROVAL).rule == "refunds"


def test_it_expires_on_time_by_its_scheduled_job(rt, policy_worker) -> None:  # type: ignore[no-untyped-def]
    allowance = _approve_and_allow(rt, _email("ann@client.com"), "to", days=1)
    wait_status(rt, _email("bea@client.com"), Status.SUCCEEDED)
    planned = rt.actions_queue.scheduled_job_registry.get_scheduled_time(allowances.expiry_job_id(allowance.id))
    assert abs((planned - allowance.expires_at).total_seconds()) < 1
    advance(rt, 86400 - 60)  # a minute before its time: still in force
    assert rt.connection.hexists(allowances.ALLOWANCES, allowance.id)
    advance(rt, 86400 + 1)  # its expiry job, released as RQ's scheduler would at that time
    when_key_changes(rt, allowances.ALLOWANCES, lambda: not rt.connection.hexists(allowances.ALLOWANCES, allowance.id),
                     "the allowance expired")
    assert wait_status(rt, _email("cat@client.com"), Status.PENDING_APPROVAL).allowance is None
    steps = [e.step for e in Signoff(connection=rt.connection).audit(action_id=allowance.from_action)]
    assert "allowance_created" in steps and steps[-1] == "allowance_expired"


def test_refused_where_each_action_needs_its_own_decision(rt, policy_worker) -> None:  # type: ignore[no-untyped-def]
    invoice = wait_status(rt, pay_invoice.request(invoice_id="i1", amount="90.00", agent="ap-bot",
                                                  reason="due").id, Status.PENDING_APPROVAL)
    with pytest.raises(SignoffError, match="does not allow standing allowances"):
        allowances.create(rt, invoice, by="slack:U0ALICE", days=7, requirements=[])
    big = wait_status(rt, _refund(5000), Status.PENDING_APPROVAL)
    with pytest.raises(SignoffError, match="does not allow standing allowances"):
        allowances.create(rt, big, by="slack:U0ALICE", days=7, requirements=[])

    # Even one written straight into Redis is never applied to a rule that forbids allowances.
    planted = Allowance(id="al_planted", agent="ap-bot", type="pay_invoice", rule="invoices", author="slack:U0ALICE",
                        created_at=utcnow(), expires_at=utcnow() + timedelta(days=1), from_action=invoice.id,
                        requirements=[Requirement(param="invoice_id", test="eq", value="i2")])
    rt.connection.hset(allowances.ALLOWANCES, planted.id, planted.model_dump_json())
    rt.connection.hset(allowances.ALLOWANCES, "al_garbled", "{not json")  # unreadable: allows nothing, breaks nothing
    held = wait_status(rt, pay_invoice.request(invoice_id="i2", amount="90.00", agent="ap-bot", reason="due").id,
                       Status.PENDING_APPROVAL)
    assert held.allowance is None


def test_revoked_it_lets_nothing_more_through(rt, policy_worker) -> None:  # type: ignore[no-untyped-def]
    allowance = _approve_and_allow(rt, _email("ann@client.com"), "to")
    allowances.revoke(rt, allowance.id, by="slack:U0BOB")
    scheduled = rt.actions_queue.scheduled_job_registry.get_job_ids()
    assert allowances.expiry_job_id(allowance.id) not in scheduled  # its expiry job went with it
    assert wait_status(rt, _email("bea@client.com"), Status.PENDING_APPROVAL).allowance is None
    with pytest.raises(SignoffError, match="no allowance"):
        allowances.revoke(rt, allowance.id, by="slack:U0BOB")


def test_never_where_the_policy_says_approve_everything(rt) -> None:  # type: ignore[no-untyped-def]
    from policies import Subject
    from policies.engine import APPROVE_EVERYTHING
    from policies.loader import parse_policy
    from policies.routing import route
    from policies.signals import Signals
    from policies.waiting import waiting_for

    subject = Subject("send_email", "external_communication", "support-bot", {"to": "bea@client.com"})
    allowance = Allowance(id="al_1", agent="support-bot", type="send_email", rule="approve_everything",
                          author="slack:U0ALICE", created_at=utcnow(), expires_at=utcnow() + timedelta(days=1),
                          from_action="a0", requirements=[Requirement(param="to", test="domain", value="client.com")])
    everything = parse_policy("approve_everything: true\nrules:\n  - {name: rest, mode: auto}\n")
    routed = route(everything, Signals(rt.connection), subject, allowances=lambda: [allowance])
    assert (routed.hold, routed.allowance) == (True, None)
    assert not waiting_for(everything, APPROVE_EVERYTHING, utcnow()).allow_similar  # nor offered in Slack
