"""Building and publishing one reviewer's Home tab (see bot.views.home)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, cast

from slack_sdk import WebClient

from bot.authz import MembershipCache, refusal, stands_for
from bot.views.home import PAGE_SIZE, Home, home_view
from signoff import allowances, away
from signoff.keys import PREFIX
from signoff.models import Status, person, utcnow
from signoff.runtime import Runtime
from signoff.stats import Warning, approval_health

SCANNED = 5000  # waiting actions looked at for one person's tab
HEALTH_KEY = f"{PREFIX}:home:health"
HEALTH_SECONDS = 600  # the week's figures are read from the audit log at most this often


def page_key(user: str) -> str:
    return f"{PREFIX}:home:{user}:page"


def _health(rt: Runtime) -> dict[str, Any]:
    """Last 7 days' figures, and 30 days' warnings where the policy has admins to show them to; shared
    by every Home tab for a few minutes."""
    cached = cast(bytes | None, rt.connection.get(HEALTH_KEY))
    if cached:
        return dict(json.loads(cached))
    now = utcnow()
    month = approval_health(rt.connection, since=now - timedelta(days=30)) if rt.policy.admins else None
    figures = {"week": approval_health(rt.connection, since=now - timedelta(days=7)).figures(),
               "warnings": month.figures()["warnings"] if month else []}
    rt.connection.set(HEALTH_KEY, json.dumps(figures), ex=HEALTH_SECONDS)
    return figures


def build(rt: Runtime, members: MembershipCache, user: str, page: int = 0) -> Home:
    pending = rt.store.newest(Status.PENDING_APPROVAL, limit=SCANNED)
    absences = away.absences(rt)
    mine = [a for a in reversed(pending) if refusal(a, user, members, absences=absences) is None]  # oldest first
    pages = max((len(mine) + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(max(page, 0), pages - 1)
    health = _health(rt)
    week = next((r for r in health["week"]["reviewers"] if person(r["reviewer"]) == person(user)), None)
    admin = user in rt.policy.admins
    shown = mine[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
    standing_for = {a.id: found for a in shown if (found := stands_for(a, user, absences))}
    return Home(user=user, waiting=shown, total_waiting=len(mine), page=page,
                allowances=allowances.with_uses(rt, allowances.mine(rt, user)), week=week,
                warnings=[Warning(**w) for w in health["warnings"]] if admin else None,
                absences=absences, standing_for=standing_for)


def publish(rt: Runtime, client: WebClient, members: MembershipCache, user: str, page: int | None = None) -> None:
    if page is None:
        page = int(cast(bytes | None, rt.connection.get(page_key(user))) or 0)
    else:
        rt.connection.set(page_key(user), page, ex=86400)
    client.views_publish(user_id=user, view=home_view(build(rt, members, user, page)))
