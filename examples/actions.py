"""Actions a sample support agent may take. Workers import this module to run them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from signoff import Email, LongText, Signoff

signoff = Signoff()

OUTBOX: list[dict[str, str]] = []  # stands in for a mail provider in the demo


@signoff.action("send_email", category="external_communication")
def send_email(to: Email, subject: str, body: LongText) -> dict[str, str]:
    message = {"to": to, "subject": subject, "body": body}
    OUTBOX.append(message)
    return {"delivered_to": to}


#: A refund pays money out: more than nothing, and never more than a refund can be. The schema says so,
#: so `amount=-50` is refused before any rule sees it (and the Edit form offers the same bounds).
RefundAmount = Annotated[float, Field(gt=0, le=10_000)]


#: Stands in for the billing system: what each customer paid, and what was refunded so far.
PAID = {"cus_4410": 1450.0, "cus_2231": 80.0}
REFUNDED: dict[str, float] = {}


def preview_refund(customer_id: str, amount: float, currency: str = "USD") -> str:
    """What the refund would change, read from billing before anyone decides: it writes nothing."""
    paid, before = PAID.get(customer_id, 0.0), REFUNDED.get(customer_id, 0.0)
    return (f"{customer_id}: paid {paid:,.2f} {currency}\n- refunded {before:,.2f} {currency}\n"
            f"+ refunded {before + amount:,.2f} {currency}\n  left to refund: {paid - before - amount:,.2f} {currency}")


@signoff.action("issue_refund", category="financial", preview=preview_refund)
def issue_refund(customer_id: str, amount: RefundAmount, currency: Literal["USD", "EUR", "GBP"] = "USD",
                 idempotency_key: str = "") -> dict[str, object]:
    # A real payment API takes the idempotency key, so a retried refund is paid once.
    REFUNDED[customer_id] = REFUNDED.get(customer_id, 0.0) + amount
    return {"refund_id": f"re_{idempotency_key}", "amount": amount, "currency": currency}


@signoff.action("update_crm", category="internal")
def update_crm(record_id: str, field: str, value: str) -> dict[str, str]:
    return {"record_id": record_id, field: value}


@signoff.action("delete_file", category="data")
def delete_file(path: str) -> dict[str, str]:
    return {"deleted": path}
