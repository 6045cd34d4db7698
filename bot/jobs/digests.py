"""Digest jobs: RQ's cron runs `send_due_digests` every minute; each team's clock decides if it is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog
from slack_sdk import WebClient

from bot.client import web_client
from bot.views.digest import digest_blocks, empty_text, headline, weekly_blocks
from policies.teams import Team, load_teams
from signoff import digests
from signoff.digests import Digest
from signoff.job_runtime import job_runtime
from signoff.jobs import signoff_job
from signoff.runtime import Runtime
from signoff.stats import approval_health

log = structlog.get_logger("signoff.digest")


def send_digest(rt: Runtime, team: Team, client: WebClient, now: datetime | None = None) -> Digest:
    """Builds and posts the team's digest now, then moves its cursor past what it showed. Once a week
    the digest carries the team's approval health."""
    now = now or datetime.now(UTC)
    digest = digests.build(rt.connection, team)
    if digest.count or team.when_empty == "say":
        blocks = digest_blocks(digest)
        weekly = digests.claim_weekly(rt.connection, team, now)
        if weekly is not None:
            health = approval_health(rt.connection, since=now - timedelta(seconds=digests.WEEK_SECONDS))
            blocks += weekly_blocks(health, team.watch.rules)
        try:
            client.chat_postMessage(channel=team.channel, text=headline(digest) if digest.count else empty_text(digest),
                                    blocks=blocks, unfurl_links=False)
        except Exception:
            if weekly is not None:
                digests.release_weekly(rt.connection, team, weekly)  # the next digest carries it
            raise
    digests.mark_posted(rt.connection, digest)
    log.info("digest_sent", team=team.name, items=digest.count, until=digest.until)
    return digest


@signoff_job
def send_due_digests(now: str | None = None) -> list[str]:
    """Sends every digest whose time has come (in its team's timezone) and was not sent for that day."""
    rt = job_runtime()
    moment = datetime.fromisoformat(now) if now else datetime.now(UTC)
    sent = []
    for team in load_teams(rt.settings.teams).teams:
        local_date = digests.claim(rt.connection, team, moment)
        if local_date is None:
            continue
        try:
            send_digest(rt, team, web_client(rt.settings), moment)
        except Exception:
            digests.release(rt.connection, team, local_date)  # the next minute's run tries again
            raise
        sent.append(team.name)
    return sent
