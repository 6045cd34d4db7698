"""What goes over the wire: pydantic models, from which FastAPI generates the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from signoff.catalog import ActionType
from signoff.models import Action, Status


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ActionRequest(_In):
    type: str = Field(description="A registered action type", examples=["send_email"])
    params: dict[str, Any] = Field(default_factory=dict, description="Validated against the type's JSON Schema")
    reason: str = Field(min_length=1, description="Why the agent wants this; the reviewer reads it")
    review: bool = Field(default=False, description="Ask a person to review it whatever the policy says")


class Links(BaseModel):
    self: str
    wait: str
    cancel: str
    result: str
    rerequest: str


class ActionView(BaseModel):
    """An action as its agent may see it."""

    id: str
    type: str
    status: Status
    agent: str
    reason: str
    params: dict[str, Any]
    version: int
    rule: str | None = None
    risk: list[str] = Field(default_factory=list)
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None
    result: Any = None
    error: str | None = None
    created_at: datetime
    expires_at: datetime | None = Field(default=None, description="While it waits for a person: its deadline "
                                        "(reviewers may extend it); then it expires, or its rule's fallback applies")
    rerequest_of: str | None = Field(default=None, description="The expired action this one asks again for")
    settled: bool = Field(description="Nothing more happens without someone acting: stop waiting")
    links: Links

    @classmethod
    def of(cls, action: Action, base: str) -> ActionView:
        url = f"{base}/actions/{action.id}"
        waiting = action.waiting if action.status == Status.PENDING_APPROVAL else None
        return cls(**action.model_dump(include=set(cls.model_fields) - {"settled", "links", "expires_at"}),
                   settled=action.settled, expires_at=waiting.deadline_at if waiting else None,
                   links=Links(self=url, wait=f"{url}/wait", cancel=f"{url}/cancel", result=f"{url}/result",
                               rerequest=f"{url}/rerequest"))


class ResultReport(_In):
    """What an agent that performs an approved action itself reports, so the audit log is complete."""

    status: Literal["succeeded", "failed"]
    result: Any = None
    error: str | None = Field(default=None, max_length=4000)


class TypeView(BaseModel):
    name: str
    category: str | None
    params_schema: dict[str, Any]
    performed_by: Literal["worker", "agent"]

    @classmethod
    def of(cls, action_type: ActionType) -> TypeView:
        return cls(name=action_type.name, category=action_type.category, params_schema=action_type.params_schema,
                   performed_by="worker" if action_type.func else "agent")


class TypeDeclaration(_In):
    """A type the agent performs itself once approved; its parameters as a JSON Schema object."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,100}$")
    category: str | None = None
    params_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: dict[str, str] | None = Field(default=None, description="One message per invalid field")
