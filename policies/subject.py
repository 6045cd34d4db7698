"""What a rule is asked about: one action's type, category, agent and parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Subject:
    type: str
    category: str | None
    agent: str
    params: dict[str, Any]
    id: str = ""  # counted once in the agent's burst window
    review_requested: bool = False  # the agent asked for a person's review itself
    history: dict[str, Any] = field(default_factory=dict)  # reserved for callers' own signals
