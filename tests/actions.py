"""Actions the tests request. Worker processes import this module, as they would an agent's."""

from __future__ import annotations

import os
from typing import Literal

import redis

from signoff import Email, LongText, Signoff

signoff = Signoff()


def _redis() -> redis.Redis:
    # No socket timeout: `hang` blocks until the test releases it.
    return redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=None)


@signoff.action("send_email", category="external_communication")
def send_email(to: Email, subject: str, body: LongText, idempotency_key: str = "") -> dict[str, str]:
    # Every real send is recorded where the test can count it.
    _redis().rpush("test:sent", f"{to}|{subject}|{idempotency_key}")
    return {"delivered_to": to}


@signoff.action("issue_refund", category="financial")
def issue_refund(customer_id: str, amount: float, currency: Literal["USD", "EUR"] = "USD") -> dict[str, object]:
    return {"refunded": amount, "currency": currency, "customer": customer_id}


@signoff.action("update_crm", category="internal")
def update_crm(record_id: str, field: str, value: str) -> dict[str, str]:
    _redis().rpush("test:crm", f"{record_id}.{field}={value}")
    return {"record_id": record_id}


@signoff.action("explode", category="internal")
def explode(message: str) -> None:
    raise ValueError(message)


@signoff.action("hang", category="internal", retries=1)
def hang(tag: str, idempotency_key: str = "") -> dict[str, int]:
    """Tells the test it started (and where), then waits until the test releases it."""
    connection = _redis()
    attempt = connection.incr(f"test:attempts:{tag}")
    connection.rpush(f"test:started:{tag}", f"{os.getpid()}|{idempotency_key}")
    connection.blpop([f"test:release:{tag}"], timeout=60)
    return {"attempt": int(attempt)}


@signoff.action("hang_once", category="internal")
def hang_once(tag: str) -> None:
    connection = _redis()
    connection.rpush(f"test:started:{tag}", str(os.getpid()))
    connection.blpop([f"test:release:{tag}"], timeout=60)


@signoff.action("tag_customer", category="internal", owner="U0CAROL", undo="untag_customer")
def tag_customer(customer_id: str, tag: str) -> dict[str, str]:
    return {"customer_id": customer_id, "tag": tag}


@signoff.action("untag_customer", category="internal", owner="U0CAROL")
def untag_customer(action_id: str) -> dict[str, str]:
    return {"undid": action_id}


def _balance_after(account: str, amount: float) -> str:
    """The preview of adjust_balance: reads, never writes."""
    raw = _redis().get(f"test:balance:{account}")
    if raw is None:
        raise LookupError(f"no account {account}")
    before = int(float(raw))
    return f"{account}: balance {before} to {before + int(amount)}"


def _rows_removed(table: str) -> str:
    """The preview of purge_rows: the rows a delete would remove, one a line."""
    return "\n".join(f"- {row.decode()}" for row in _redis().lrange(f"test:rows:{table}", 0, -1))


@signoff.action("purge_rows", category="irreversible", preview=_rows_removed)
def purge_rows(table: str) -> dict[str, int]:
    return {"removed": int(_redis().delete(f"test:rows:{table}"))}


@signoff.action("adjust_balance", category="financial", preview=_balance_after)
def adjust_balance(account: str, amount: float) -> dict[str, int]:
    connection = _redis()
    balance = int(float(connection.get(f"test:balance:{account}") or 0)) + int(amount)
    connection.set(f"test:balance:{account}", balance)
    return {"balance": balance}
