"""The job that republishes a reviewer's Home tab when something they can decide arrives or is decided."""

from __future__ import annotations

from bot import home
from bot.authz import MembershipCache
from bot.client import web_client
from signoff.job_runtime import job_runtime
from signoff.jobs import signoff_job

_members: dict[str, MembershipCache] = {}  # one cache per worker process: membership is asked of Slack rarely


@signoff_job
def publish_home(user: str) -> None:
    rt = job_runtime()
    client = web_client(rt.settings)
    members = _members.setdefault("client", MembershipCache(client))
    home.publish(rt, client, members, user)
