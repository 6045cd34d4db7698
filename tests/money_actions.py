"""Actions declared under `from __future__ import annotations`, with Decimal and datetime parameters."""

from __future__ import annotations

import os
from datetime import datetime
from decimal import Decimal

import redis

from tests.actions import signoff


@signoff.action("pay_invoice", category="financial")
def pay_invoice(invoice_id: str, amount: Decimal, due: datetime | None = None) -> dict[str, str]:
    # What the function received, with its type, for the test to read.
    redis.Redis.from_url(os.environ["REDIS_URL"]).rpush(
        "test:paid", f"{type(amount).__name__}:{amount}|{type(due).__name__}")
    return {"paid": str(amount)}
