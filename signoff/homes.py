"""Keeping reviewers' Slack Home tabs current: who has one, and a debounced refresh when their work changes.

A refresh publishes the tab at once if it was not published in the last few seconds; otherwise one
more publish is scheduled for the end of that window (it reads the state as it then is). So a burst of
arrivals and decisions costs one `views.publish` per person per window, and the last state is shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import cast

from signoff import away
from signoff.keys import PREFIX
from signoff.models import Action
from signoff.runtime import Runtime

VIEWERS = f"{PREFIX}:home:viewers"  # Slack users who have opened Signoff's Home tab
PUBLISH_JOB = "bot.jobs.home.publish_home"
WINDOW_SECONDS = 3


def opened(rt: Runtime, user: str) -> None:
    rt.connection.sadd(VIEWERS, user)


def viewers(rt: Runtime) -> set[str]:
    return {v.decode() for v in cast(set[bytes], rt.connection.smembers(VIEWERS))}


def concerned(rt: Runtime, action: Action) -> list[str]:
    """Who has a Home tab that shows this action: its named approvers and the delegates of those away, or
    (for a channel's members or a user group, unknown here) everyone with a Home tab."""
    seen = viewers(rt)
    approvers = action.approvers or {}
    if approvers.get("users") and not approvers.get("groups"):
        absences = away.of_approvers(rt, action)
        users = {*approvers["users"], *(d for u in approvers["users"] if (d := absences.delegate_of(u)))}
        return sorted(u for u in users if u in seen)
    return sorted(seen)


def refresh(rt: Runtime, users: Iterable[str]) -> None:
    if not rt.slack_enabled:
        return
    for user in users:
        if rt.connection.set(f"{PREFIX}:home:{user}:published", 1, nx=True, ex=WINDOW_SECONDS):
            rt.slack_queue.enqueue(PUBLISH_JOB, user, result_ttl=0)
        elif rt.connection.set(f"{PREFIX}:home:{user}:trailing", 1, nx=True, ex=WINDOW_SECONDS):
            rt.slack_queue.enqueue_in(timedelta(seconds=WINDOW_SECONDS), PUBLISH_JOB, user, result_ttl=0)


def changed(rt: Runtime, action: Action) -> None:
    """An action someone may decide arrived, or was decided."""
    if rt.slack_enabled and rt.connection.exists(VIEWERS):
        refresh(rt, concerned(rt, action))
