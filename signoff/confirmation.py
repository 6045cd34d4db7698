"""A typed confirmation (`confirm: typed` on a rule): what the reviewer must type before a yes counts,
and whether what they typed is it. The amount for money, else the recipient's domain, else the type."""

from __future__ import annotations

import re
from dataclasses import dataclass

from policies.engine import email_domains, is_number
from signoff.models import Action

_AMOUNT = re.compile(r"^amount(_[a-z]{3})?$")


@dataclass(frozen=True)
class Asked:
    what: str  # "the amount", "the recipient's domain", "the action type"
    expected: str  # as shown to the reviewer


def asked(action: Action) -> Asked:
    for name, value in action.params.items():
        if _AMOUNT.match(name) and is_number(value):
            shown = f"{value:,}" if isinstance(value, int) else f"{value:,.2f}".rstrip("0").rstrip(".")
            return Asked("the amount", shown)
    for value in action.params.values():
        domains = email_domains(value)
        if domains:
            return Asked("the recipient's domain", domains[0])
    return Asked("the action type", action.type)


def matches(action: Action, typed: str | None) -> bool:
    """Whether `typed` is what was asked: numbers compared as numbers ("1200" is "1,200.00"), text
    without case or surrounding space."""
    if typed is None:
        return False
    want = asked(action).expected
    if asked(action).what == "the amount":
        try:
            return float(typed.replace(",", "").strip()) == float(want.replace(",", ""))
        except ValueError:
            return False
    return typed.strip().lower().removeprefix("@") == want.lower()
