"""Standing allowances: a reviewer's "approve and allow similar", as the policy engine applies them.

An allowance names one agent, one action type and the rule that held it, and the parameters that must
match (a value, a recipient domain, a ceiling on a number). It can only relax a rule that holds
actions for one person's yes (`Rule.allows_allowances`), until it expires. Anything that cannot be
checked (a parameter missing, of another type, not a finite number) does not match: the action waits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from policies.engine import email_domains, is_number
from policies.subject import Subject

Test = Literal["eq", "le", "domain"]


class Requirement(BaseModel):
    """One parameter a similar action must have: the same value, a recipient in the same domain, or a
    number no larger."""

    param: str
    test: Test
    value: Any

    def describe(self) -> str:
        """What a reviewer reads: "to: only @client.com addresses", "amount: at most 40", 'currency: exactly "USD"'."""
        if self.test == "domain":
            return f"{self.param}: only @{self.value} addresses"
        if self.test == "le":
            shown = f"{self.value:g}" if isinstance(self.value, float) else str(self.value)
            return f"{self.param}: at most {shown}"
        return f'{self.param}: exactly "{self.value}"'

    @property
    def meant(self) -> bool:
        """Ticked at first: what a reviewer who allows "similar" means (the same recipients' domain, no
        more than this amount), not the same wording to the letter."""
        return self.test in ("domain", "le")

    def holds(self, params: dict[str, Any]) -> bool:
        if self.param not in params:
            return False
        value = params[self.param]
        if self.test == "eq":
            return bool(value == self.value and type(value) is type(self.value))
        if self.test == "le":
            return is_number(value) and is_number(self.value) and value <= self.value
        domains = email_domains(value)
        return bool(domains) and all(d == self.value for d in domains)


class Allowance(BaseModel):
    id: str
    agent: str
    type: str
    rule: str
    requirements: list[Requirement] = Field(default_factory=list)
    author: str  # who allowed it ("slack:U0ALICE")
    reason: str = ""
    created_at: datetime
    expires_at: datetime
    from_action: str  # the action whose approval created it
    signature: str = ""  # set by the process that stored it; an allowance whose signature fails is ignored

    def describe(self) -> str:
        must = "; ".join(r.describe() for r in self.requirements) or "any parameters"
        return f"{self.type} from {self.agent} under rule {self.rule} ({must})"

    def matches(self, subject: Subject, rule: str, now: datetime) -> bool:
        return (now < self.expires_at and subject.agent == self.agent and subject.type == self.type
                and rule == self.rule and all(r.holds(subject.params) for r in self.requirements))


def offered(params: dict[str, Any]) -> list[Requirement]:
    """What a reviewer may tick as "must match", from the action they approve: a recipient's domain,
    a ceiling at this amount, or this exact short value. Long texts and nested values are not offered."""
    found = []
    for name, value in params.items():
        domains = email_domains(value)
        if len(domains) == 1:
            found.append(Requirement(param=name, test="domain", value=domains[0]))
        elif is_number(value):
            found.append(Requirement(param=name, test="le", value=value))
        elif isinstance(value, str | bool | int) and len(str(value)) <= 75 and "\n" not in str(value) and not domains:
            found.append(Requirement(param=name, test="eq", value=value))
    return found


def first_match(allowances: list[Allowance], subject: Subject, rule: str, now: datetime) -> Allowance | None:
    return next((a for a in allowances if a.matches(subject, rule, now)), None)
