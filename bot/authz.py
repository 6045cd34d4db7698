"""Who may decide an action: the rule's approvers (and, for one who is away, their delegate), else the
members of the channel it was posted in.

Nobody decides their own action: not its agent's registered owner, not the person who submitted it, and
no delegate stands in for either.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from slack_sdk import WebClient

from signoff import away
from signoff.away import Absences
from signoff.models import Action, person

CACHE_SECONDS = 60.0


class MembershipCache:
    """Group and channel members change rarely; asking Slack on every click would meet its rate limits."""

    def __init__(self, client: WebClient, ttl: float = CACHE_SECONDS) -> None:
        self.client = client
        self.ttl = ttl
        self._entries: dict[str, tuple[float, frozenset[str]]] = {}

    def _cached(self, key: str, fetch: Callable[[], list[str]]) -> frozenset[str]:
        entry = self._entries.get(key)
        if entry and time.monotonic() - entry[0] < self.ttl:
            return entry[1]
        members = frozenset(fetch())
        self._entries[key] = (time.monotonic(), members)
        return members

    def group(self, group_id: str) -> frozenset[str]:
        return self._cached(f"group:{group_id}",
                            lambda: list(self.client.usergroups_users_list(usergroup=group_id)["users"]))

    def channel(self, channel_id: str) -> frozenset[str]:
        def fetch() -> list[str]:
            members: list[str] = []
            for page in self.client.conversations_members(channel=channel_id, limit=1000):
                members += page["members"]
            return members

        return self._cached(f"channel:{channel_id}", fetch)


def refusal(action: Action, user_id: str, members: MembershipCache, clicked_in: str | None = None,
            absences: Absences | None = None) -> str | None:
    """Why this Slack user may not decide this action, or None if they may.

    `clicked_in` is the channel of the message clicked (Slack signs it): it stands for the approval
    channel when the post's own record was lost (a Redis outage right after posting). `absences`: who is
    away, so that their delegates may decide for them."""
    me = f"slack:{user_id}"
    if user_id == action.owner or me == action.owner:
        return "You own the agent that asked for this, so you can't decide it. Someone else has to."
    if me == action.submitted_by:
        return "You submitted this action, so you can't decide it. Someone else has to."
    approvers = action.approvers or {}
    users, groups = approvers.get("users", []), approvers.get("groups", [])
    if users or groups:
        if user_id in users or any(user_id in members.group(g) for g in groups):
            return None
        if stands_for(action, user_id, absences):
            return None
        absent = absences.stands_in_for(user_id, users) if absences is not None else []
        if absent and not away.delegation_allowed(action):
            return (f"You can't decide this action for <@{absent[0]}>: rule *{action.rule}* lets only its own "
                    "approvers decide, not their delegates.")
        named = [f"<@{u}>" for u in users] + [f"<!subteam^{g}>" for g in groups]
        return f"You can't decide this action: rule *{action.rule}* lets only {', '.join(named)} decide it."
    channel = action.slack.get("channel") or clicked_in
    if channel and user_id in members.channel(channel):
        return None
    return "You can't decide this action: only members of the approval channel can."


def via(action: Action, user_id: str, members: MembershipCache) -> str | None:
    """How this allowed user is one of the rule's approvers when not by name: `group:S…`, a member of
    that group (Slack says so; the signed vote records it, and the door checks the group is the rule's)."""
    approvers = action.approvers or {}
    if user_id in approvers.get("users", []):
        return None
    return next((f"group:{g}" for g in approvers.get("groups", []) if user_id in members.group(g)), None)


def stands_for(action: Action, user_id: str, absences: Absences | None) -> str | None:
    """The away approver this user decides for as their delegate, where the rule names them and allows
    delegation; None where the user is an approver themselves (they decide as themselves)."""
    users = away.named_approvers(action)
    if absences is None or user_id in users or not away.delegation_allowed(action):
        return None
    own = {person(action.owner), person(action.submitted_by)}
    return next((u for u in absences.stands_in_for(user_id, users) if u not in own), None)
