"""The records Signoff keeps: actions, their states, and what an agent gets back."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from policies.vocabulary import Mode
from policies.waiting import Waiting


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_action_id() -> str:
    return uuid.uuid4().hex[:16]


class Status(StrEnum):
    RECEIVED = "received"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REJECTED = "rejected"
    CANCELED = "canceled"
    EXPIRED = "expired"


class Review(StrEnum):
    """Post-hoc review of an action that ran without approval."""

    NONE = "none"
    PENDING = "pending_review"
    REVIEWED = "reviewed"
    FLAGGED = "flagged"


FINAL = frozenset({Status.SUCCEEDED, Status.FAILED, Status.REJECTED, Status.CANCELED, Status.EXPIRED})
DECIDABLE = frozenset({Status.PENDING_APPROVAL})


def person(who: str | None) -> str | None:
    """One person's identity, however it was written: `U0BOB` and `slack:U0BOB` are the same person."""
    if who is None:
        return None
    return who.strip().removeprefix("slack:").strip() or None


def params_hash(params: dict[str, Any]) -> str:
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


class Action(BaseModel):
    id: str = Field(default_factory=new_action_id)
    type: str
    category: str | None = None
    agent: str
    reason: str
    params: dict[str, Any]
    # The version an approver sees; a decision made on an older version is refused.
    version: int = 1
    status: Status = Status.RECEIVED
    mode: Mode | None = None
    rule: str | None = None
    risk: list[str] = Field(default_factory=list)
    review_requested: bool = False
    review: Review = Review.NONE
    # Import path of the function a worker runs once allowed; None when the agent acts itself.
    func: str | None = None
    max_retries: int = 0
    attempts: int = 0
    submitted_by: str | None = None
    owner: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    decided_by: str | None = None
    decided_at: datetime | None = None
    decided_for: str | None = None  # the away approver whose delegate decided (told; the signed vote binds it)
    # The decision that lets it run, signed (see signoff.door): HMAC over everything that decides what
    # runs; `nonce` is consumed once by the run's start; `permit` lets a process without the key run it.
    signature: str | None = None
    nonce: str | None = None
    permit: str | None = None
    note: str | None = None
    original_params: dict[str, Any] | None = None
    result: Any = None
    error: str | None = None
    # Set by routing: what to record once the action has run, and who may decide it in Slack.
    observations: dict[str, Any] = Field(default_factory=dict)
    channel: str | None = None
    approvers: dict[str, list[str]] | None = None
    slack: dict[str, str] = Field(default_factory=dict)
    batch_id: str | None = None
    waiting: Waiting | None = None
    votes: list[dict[str, str]] = Field(default_factory=list)  # {"by", "at", "sig"}: each person's signed yes
    run_id: str | None = None  # a paused agent run this tool call belongs to (see signoff.runs)
    allowance: dict[str, str] | None = None  # {"id", "author"}: the standing allowance that let it run
    outright: bool = False  # its rule lets a coding agent's hook allow it outright (bound by the permit)
    rerequest_of: str | None = None  # the expired action this one asks again for
    preview: dict[str, Any] | None = None  # {"text" | "error", "digest"}: what it would change (signoff.previews)

    @property
    def params_hash(self) -> str:
        return params_hash(self.params)

    @property
    def idempotency_key(self) -> str:
        # Stable across retries of the same action: the function can use it to avoid doing its effect twice.
        return f"signoff-{self.id}"

    @property
    def settled(self) -> bool:
        """What `Ticket.wait()` waits for: nothing more happens without someone acting.

        An action with no function is settled once a worker has permitted it (the agent, the gate or the
        hook acts on it itself), or once someone has started it.
        """
        if self.status in FINAL:
            return True
        return self.func is None and (self.status == Status.RUNNING or (self.status == Status.APPROVED
                                                                         and self.permit is not None))


class Outcome(BaseModel):
    """What an agent learns from `Ticket.wait()`."""

    id: str
    status: Status
    result: Any = None
    error: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    decided_for: str | None = None  # the away approver a delegate decided for
    params: dict[str, Any]
    note: str | None = None

    @classmethod
    def of(cls, action: Action) -> Outcome:
        return cls(
            id=action.id,
            status=action.status,
            result=action.result,
            error=action.error,
            decided_by=action.decided_by,
            decided_at=action.decided_at,
            decided_for=action.decided_for,
            params=action.params,
            note=action.note,
        )


class AuditEvent(BaseModel):
    """One transition of one action, as written to the append-only audit stream."""

    action_id: str
    step: str
    actor: str
    at: datetime = Field(default_factory=utcnow)
    status_from: str | None = None
    status_to: str | None = None
    type: str | None = None
    rule: str | None = None
    params_before: dict[str, Any] | None = None
    params_after: dict[str, Any] | None = None
    note: str | None = None
    result: Any = None
    error: str | None = None
    batch: str | None = None  # set when the decision was part of a batch decision
    on_behalf_of: str | None = None  # the away approver a delegate decided for
    # On "held": what the rule asked beyond a click ("typed", "fresh look 30s"), for stats' before and after.
    friction: str | None = None
    id: str | None = None  # the stream entry's id, once written
