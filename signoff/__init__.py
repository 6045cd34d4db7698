"""Signoff: human sign-off for AI agents' actions, delivered in Slack."""

from signoff.errors import (
    ActionNotFound,
    InvalidParams,
    NotAllowed,
    PolicyError,
    SignoffError,
    StaleVersion,
    TransitionRefused,
    UnknownActionType,
)
from signoff.models import Action, Outcome, Status
from signoff.schema import Email, LongText
from signoff.sdk import ActionHandle, Signoff, Ticket

__version__ = "0.1.0"  # the one place it is written: pyproject.toml reads it from here

__all__ = [
    "Action", "ActionHandle", "ActionNotFound", "Email", "InvalidParams", "LongText", "NotAllowed",
    "Outcome", "PolicyError", "Signoff", "SignoffError", "StaleVersion", "Status", "Ticket",
    "TransitionRefused", "UnknownActionType", "__version__",
]
