"""The job that republishes a reviewer's Home tab when something they can decide arrives or is decided."""

from __future__ import annotations

from functools import cache

from bot import home
from bot.authz import MembershipCache
from bot.client import web_client
from signoff.job_runtime import job_runtime
from signoff.jobs import signoff_job


@cache
def _members() -> MembershipCache:
    """One client and membership cache per worker process: membership is asked of Slack rarely."""
    return MembershipCache(web_client(job_runtime().settings))


@signoff_job
def publish_home(user: str) -> None:
    members = _members()
    home.publish(job_runtime(), members.client, members, user)
