"""Teams and their daily digests (policies/teams.yml): a channel, a time in a timezone, what they watch."""

from __future__ import annotations

import re
from datetime import datetime, time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from policies.loader import resolve
from policies.vocabulary import PolicyError

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Watch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: list[str] | None = None  # None: every rule
    agents: list[str] | None = None  # None: every agent


class Team(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    channel: str
    timezone: str = "UTC"
    at: str = "09:00"
    days: list[Day] = Field(default=["mon", "tue", "wed", "thu", "fri"], min_length=1)
    watch: Watch = Field(default_factory=Watch)
    when_empty: Literal["say", "skip"] = "say"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a timezone (use a name like Europe/Berlin)") from None
        return value

    @field_validator("at")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError(f"{value!r} is not a time of day (HH:MM, 24-hour)")
        return value

    def local_date_due(self, now: datetime) -> str | None:
        """The team's local date if its digest is due at `now` (UTC-aware), else None.

        The clock is read in the team's timezone, so 09:00 Europe/Berlin stays 09:00 across DST.
        """
        local = now.astimezone(ZoneInfo(self.timezone))
        hour, minute = map(int, self.at.split(":"))
        if DAYS[local.weekday()] not in self.days or local.time() < time(hour, minute):
            return None
        return local.date().isoformat()


class Teams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    teams: list[Team] = Field(default_factory=list)

    def get(self, name: str) -> Team:
        team = next((t for t in self.teams if t.name == name), None)
        if team is None:
            raise PolicyError(f"no team named {name!r} (teams: {', '.join(t.name for t in self.teams) or 'none'})")
        return team


def load_teams(name_or_path: str) -> Teams:
    path = resolve(name_or_path)
    if not Path(path).exists():
        return Teams()
    try:
        return Teams.model_validate(yaml.safe_load(Path(path).read_text()) or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
                             for e in exc.errors())
        raise PolicyError(f"{path}: {problems}") from None
