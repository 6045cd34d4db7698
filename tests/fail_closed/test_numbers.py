"""Odd numbers never slip past a threshold: they are invalid, stored as declared, or held for a person."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from signoff import InvalidParams, Signoff, Status
from tests.actions import issue_refund, send_email
from tests.helpers import wait_status

OVER_500 = """
rules:
  - name: big-refunds
    match: {category: financial, when: [{param: amount, gt: 500}]}
    mode: approve
  - name: rest
    mode: auto
"""


@pytest.mark.parametrize("amount", [float("nan"), float("inf"), float("-inf"), "NaN", "1e309", "-Infinity"])
def test_non_finite_amounts_are_invalid_and_nothing_is_queued(rt, amount) -> None:
    with pytest.raises(InvalidParams, match="amount: "):
        issue_refund.request(customer_id="c1", amount=amount, agent="support-bot", reason="r")
    assert rt.store.newest() == [] and rt.actions_queue.count == 0


def test_a_decimal_given_as_a_string_is_stored_and_compared_as_a_number(rt, workers, policy_file) -> None:
    from tests.money_actions import pay_invoice

    workers.start(policy=policy_file(OVER_500))
    ticket = pay_invoice.request(invoice_id="inv-1", amount="900.50", agent="billing-bot", reason="due today")
    action = wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    assert action.params["amount"] == 900.5 and action.rule == "big-refunds"
    small = pay_invoice.request(invoice_id="inv-2", amount="12.25", due="2026-12-01T09:00:00Z",
                                agent="billing-bot", reason="due today")
    assert small.wait(20).status == Status.SUCCEEDED
    # The function gets the types it declared, even under `from __future__ import annotations`.
    assert rt.connection.lrange("test:paid", 0, -1) == [b"Decimal:12.25|datetime"]


def test_a_condition_on_a_null_amount_holds_the_action_and_says_why(rt, workers, policy_file) -> None:
    class Refund(BaseModel):
        customer_id: str
        amount: float | None = None

    workers.start(policy=policy_file(OVER_500))
    signoff = Signoff(connection=rt.connection)
    signoff.declare("manual_refund", params=Refund, category="financial")
    ticket = signoff.submit("manual_refund", {"customer_id": "c1", "amount": None}, agent="support-bot", reason="r")
    action = wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    assert action.risk == ["rule big-refunds cannot be evaluated (parameter 'amount' is null): held for a person"]


def test_a_condition_on_a_value_of_the_wrong_type_holds_the_action(rt, workers, policy_file) -> None:
    class Refund(BaseModel):
        customer_id: str
        amount: str  # a number written as text, say by an agent framework's loose schema

    workers.start(policy=policy_file(OVER_500))
    signoff = Signoff(connection=rt.connection)
    signoff.declare("text_refund", params=Refund, category="financial")
    ticket = signoff.submit("text_refund", {"customer_id": "c1", "amount": "900"}, agent="support-bot", reason="r")
    action = wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    assert "amount = '900' is not a number" in action.risk[0]


def test_a_rule_naming_the_category_holds_an_action_that_lacks_its_parameter(rt, workers, policy_file) -> None:
    class Payout(BaseModel):
        customer_id: str
        total: float  # not called `amount`: the rule cannot see how much

    workers.start(policy=policy_file(OVER_500))
    signoff = Signoff(connection=rt.connection)
    signoff.declare("payout", params=Payout, category="financial")
    ticket = signoff.submit("payout", {"customer_id": "c1", "total": 9000}, agent="support-bot", reason="r")
    assert "parameter 'amount' is absent" in wait_status(rt, ticket.id, Status.PENDING_APPROVAL).risk[0]


@pytest.mark.parametrize("to", ["bob@acme.com\n", "<!channel>@evil.com", "bob@localhost", "bob @acme.com"])
def test_email_parameters_are_real_addresses(rt, to) -> None:
    with pytest.raises(InvalidParams, match="to: is not an email address"):
        send_email.request(to=to, subject="s", body="b", agent="bot", reason="r")
    assert rt.store.newest() == []


def test_deep_nesting_and_huge_integers_are_invalid_params_not_tracebacks(rt) -> None:
    class Anything(BaseModel):
        payload: object = None
        count: int = 0

    signoff = Signoff(connection=rt.connection)
    signoff.declare("store_blob", params=Anything)
    deep: list = []
    for _ in range(1500):
        deep = [deep]
    with pytest.raises(InvalidParams, match="nested more than 32 levels deep"):
        signoff.submit("store_blob", {"payload": deep}, agent="bot", reason="r")
    with pytest.raises(InvalidParams, match="count: "):
        signoff.submit("store_blob", {"count": "9" * 5000}, agent="bot", reason="r")
    with pytest.raises(InvalidParams, match="integer too large"):
        signoff.submit("store_blob", {"payload": 10 ** 5000}, agent="bot", reason="r")
    assert rt.store.newest() == []
