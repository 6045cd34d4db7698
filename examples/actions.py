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


@signoff.action("issue_refund", category="financial")
def issue_refund(customer_id: str, amount: RefundAmount, currency: Literal["USD", "EUR", "GBP"] = "USD",
                 idempotency_key: str = "") -> dict[str, object]:
    # A real payment API takes the idempotency key, so a retried refund is paid once.
    return {"refund_id": f"re_{idempotency_key}", "amount": amount, "currency": currency}


@signoff.action("update_crm", category="internal")
def update_crm(record_id: str, field: str, value: str) -> dict[str, str]:
    return {"record_id": record_id, field: value}


@signoff.action("delete_file", category="data")
def delete_file(path: str) -> dict[str, str]:
    return {"deleted": path}
