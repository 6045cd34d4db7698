"""Errors an agent, a reviewer or an operator sees, each saying what happened and what to do."""

from __future__ import annotations

from datetime import datetime

# The policy language's own error, re-exported so SDK callers catch it from one place.
from policies.vocabulary import PolicyError as PolicyError


class SignoffError(Exception):
    """Base of every error Signoff raises on purpose."""


class ActionNotFound(SignoffError):
    def __init__(self, action_id: str) -> None:
        super().__init__(f"no action with id {action_id!r}")
        self.action_id = action_id


class UnknownActionType(SignoffError):
    def __init__(self, action_type: str, known: list[str]) -> None:
        listing = ", ".join(sorted(known)) or "none registered"
        super().__init__(f"unknown action type {action_type!r} (known: {listing})")


class InvalidParams(SignoffError):
    """Parameters that do not fit the action's schema: nothing was queued or changed."""

    def __init__(self, action_type: str, problems: list[str], fields: dict[str, str] | None = None) -> None:
        self.problems = problems
        self.fields = fields or {}  # the first problem per parameter: what a form shows beside each field
        super().__init__(f"invalid parameters for {action_type!r}: " + "; ".join(problems))


class TransitionRefused(SignoffError):
    """The action is not in a state that allows this step; nothing changed."""

    def __init__(self, action_id: str, status: str, decided_by: str | None, decided_at: datetime | None):
        self.action_id = action_id
        self.status = status
        self.decided_by = decided_by
        self.decided_at = decided_at
        if decided_by and decided_at:
            message = f"already decided by {decided_by} at {decided_at:%Y-%m-%d %H:%M:%S} UTC ({status})"
        else:
            message = f"action {action_id} is {status}; this step is not allowed now"
        super().__init__(message)


class StaleVersion(SignoffError):
    def __init__(self, action_id: str, seen: int, current: int) -> None:
        self.seen, self.current = seen, current
        super().__init__(
            f"action {action_id} changed since you saw it (you saw version {seen}, it is now {current}); "
            "look again before deciding"
        )


class NotAllowed(SignoffError):
    """The person may not decide this action."""



class ApprovalUsed(TransitionRefused):
    """The approval this run would start on has been used already: an approval runs once."""

    def __init__(self, action_id: str, mark: str) -> None:
        self.action_id, self.status, self.decided_by, self.decided_at = action_id, "approved", None, None
        self.mark = mark
        SignoffError.__init__(self, f"the approval of {action_id} was used already ({mark}): it runs once")
