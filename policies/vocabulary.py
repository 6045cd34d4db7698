"""The policy language's own words: what a rule does with an action, and the action categories it knows.

Defined here, not in Signoff's core, so the policy engine can be read, tested and reused alone.
"""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    AUTO = "auto"  # runs now
    APPROVE = "approve"  # waits for a person
    BATCH = "batch"  # waits, gathered with others into one decision
    POST_HOC = "post_hoc"  # runs now, reviewed afterwards
    ESCALATE = "escalate"  # runs now unless something is unusual


#: Modes in which the action runs without waiting for a person.
RUNS_NOW = frozenset({Mode.AUTO, Mode.POST_HOC, Mode.ESCALATE})
#: Modes in which the action waits for a person.
HOLDS = frozenset({Mode.APPROVE, Mode.BATCH})

#: Categories Signoff knows; a policy may add its own under `categories:`.
CATEGORIES: dict[str, str] = {
    "external_communication": "messages that leave the company: email, chat, posts",
    "financial": "money moves: refunds, payments, transfers, invoices",
    "irreversible": "what cannot be undone: deletions, cancellations, drops",
    "data_modification": "changes to records other people rely on",
    "significant_decision": "decisions about people or customers: access, eligibility, pricing",
    "internal": "work inside the company's own systems that is easy to undo",
    "coding_tool": "a coding agent's tool call (a shell command, a file write, an MCP tool)",
}


class PolicyError(ValueError):
    """A policy or teams file that cannot be used, with the line of what is wrong in it."""
