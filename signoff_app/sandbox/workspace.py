"""The sandbox's workspace: users, user groups, channels, messages, ephemeral messages and modals."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class User:
    id: str
    name: str
    real_name: str
    is_bot: bool = False


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    user: str
    thread_ts: str | None = None
    ephemeral_to: str | None = None
    edited: bool = False
    metadata: dict[str, Any] | None = None


@dataclass
class Channel:
    id: str
    name: str
    members: list[str]
    is_im: bool = False


@dataclass
class View:
    id: str
    user: str
    view: dict[str, Any]
    trigger_id: str
    closed: bool = False


BOT_USER = User("U0SIGNOFF", "signoff", "Signoff", is_bot=True)


def default_users() -> list[User]:
    return [
        User("U0ALICE", "alice", "Alice Moreau"),
        User("U0BOB", "bob", "Bob Okafor"),
        User("U0CAROL", "carol", "Carol Jensen"),
        User("U0MALLORY", "mallory", "Mallory (not an approver)"),
    ]


@dataclass
class Workspace:
    """Thread-safe: the HTTP server answers several requests at once."""

    team_id: str = "T0SANDBOX"
    users: dict[str, User] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    usergroups: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # id -> (handle, users)
    messages: list[Message] = field(default_factory=list)
    views: dict[str, View] = field(default_factory=dict)
    homes: dict[str, str] = field(default_factory=dict)  # user -> their Home tab's view id
    triggers: dict[str, tuple[float, str]] = field(default_factory=dict)  # trigger id -> (issued, user)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def default(cls) -> Workspace:
        ws = cls()
        for user in [BOT_USER, *default_users()]:
            ws.users[user.id] = user
        # Mallory can see #approvals, but the rules that name approvers do not name her.
        ws.channels["C0APPROVALS"] = Channel("C0APPROVALS", "approvals",
                                             ["U0SIGNOFF", "U0ALICE", "U0BOB", "U0CAROL", "U0MALLORY"])
        ws.channels["C0FINANCE"] = Channel("C0FINANCE", "finance-approvals", ["U0SIGNOFF", "U0BOB"])
        ws.usergroups["S0FINANCE"] = ("finance", ["U0BOB"])
        return ws

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}"

    def next_ts(self) -> str:
        # Slack's ts: seconds.microseconds, unique per channel; the counter keeps them strictly increasing.
        return f"{int(time.time())}.{next(self._ids):06d}"

    def channel(self, ref: str) -> Channel | None:
        name = ref.lstrip("#")
        return self.channels.get(ref) or next((c for c in self.channels.values() if c.name == name), None)

    def message(self, channel: str, ts: str) -> Message | None:
        return next((m for m in self.messages if m.channel == channel and m.ts == ts and not m.ephemeral_to), None)

    def new_trigger(self, user: str) -> str:
        trigger = f"{next(self._ids)}.{int(time.time())}.sandbox"
        self.triggers[trigger] = (time.time(), user)
        return trigger

    def use_trigger(self, trigger_id: str) -> str | None:
        """The user a modal opens for; None if the trigger is unknown, used, or older than Slack's 3 seconds."""
        issued = self.triggers.pop(trigger_id, None)
        if issued is None or time.time() - issued[0] >= 3:
            return None
        return issued[1]

    def im_with(self, users: list[str]) -> Channel:
        members = sorted({*users, BOT_USER.id})
        for channel in self.channels.values():
            if channel.is_im and sorted(channel.members) == members:
                return channel
        channel = Channel(self.next_id("D"), "dm-" + "-".join(members), members, is_im=True)
        self.channels[channel.id] = channel
        return channel
