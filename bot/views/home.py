"""Signoff's Home tab: whether this reviewer is away, what waits for them (a page at a time), their
allowances, their week, and, for the policy's admins, the rubber-stamp warnings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.views.approval import APPROVE, REJECT, reject_confirm, summary
from bot.views.away import away_blocks
from bot.views.blocks import Block, button, confirm, context, divider, header, section
from bot.views.digest import warning_section
from bot.views.text import count, mrkdwn, standing_in, when
from policies.allowances import Allowance
from signoff.away import Absences
from signoff.models import Action
from signoff.stats import Warning

PAGE_SIZE = 10
MAX_ALLOWANCES = 10
MAX_WARNINGS = 5
HOME_PAGE, OPEN = "signoff_home_page", "signoff_open_action"
REVOKE = "signoff_revoke_allowance"


@dataclass
class Home:
    user: str
    waiting: list[Action]  # this page of what waits for the user, oldest first
    total_waiting: int
    page: int = 0
    allowances: list[tuple[Allowance, int]] = field(default_factory=list)  # with how many each let through
    week: dict[str, Any] | None = None  # their decisions in the last 7 days (signoff.stats figures)
    warnings: list[Warning] | None = None  # for admins only
    absences: Absences = field(default_factory=Absences)
    standing_for: dict[str, str] = field(default_factory=dict)  # action id -> the away approver they decide for

    @property
    def pages(self) -> int:
        return max((self.total_waiting + PAGE_SIZE - 1) // PAGE_SIZE, 1)


def _waiting_item(action: Action, stands_for: str | None = None) -> list[Block]:
    value = f"{action.id}:{action.version}"
    risk = f"\n:warning: {mrkdwn('; '.join(action.risk), 300)}" if action.risk else ""
    delegated = f"\n:busts_in_silhouette: You decide it{standing_in(stands_for)}" if stands_for else ""
    return [
        section(f"*{mrkdwn(summary(action), 300)}*\n{mrkdwn(action.agent, 80)} · rule {mrkdwn(action.rule or '-', 80)}"
                f" · asked {when(action.created_at)}{risk}{delegated}"),
        {"type": "actions", "block_id": f"home_{action.id}", "elements": [
            button("Approve", APPROVE, value, style="primary"),
            button("Reject", REJECT, value, style="danger", confirm=reject_confirm(action)),
            button("Open", OPEN, action.id)]},
    ]


def _pager(home: Home) -> list[Block]:
    if home.pages <= 1:
        return []
    buttons = []
    if home.page > 0:
        buttons.append(button("Previous", f"{HOME_PAGE}_prev", str(home.page - 1)))
    if home.page < home.pages - 1:
        buttons.append(button("Next", f"{HOME_PAGE}_next", str(home.page + 1)))
    return [context(f"Page {home.page + 1} of {home.pages}"), {"type": "actions", "block_id": "home_pages",
                                                               "elements": buttons}]


def _allowance_blocks(home: Home) -> list[Block]:
    blocks: list[Block] = [section("*Your allowances*")]
    if not home.allowances:
        return [*blocks, context("None. “Approve and allow similar” beside Approve makes one.")]
    revoke = confirm("Revoke this allowance?", "Similar actions will wait for a person again.", "Revoke", "Keep it",
                     danger=True)
    for allowance, uses in home.allowances[:MAX_ALLOWANCES]:
        blocks.append(section(f"{mrkdwn(allowance.describe(), 600)}\nuntil {when(allowance.expires_at)} · "
                              f"{count(uses, 'action')} let through · `{allowance.id}`",
                              accessory=button("Revoke", REVOKE, allowance.id, style="danger", confirm=revoke)))
    if len(home.allowances) > MAX_ALLOWANCES:
        blocks.append(context(f"and {len(home.allowances) - MAX_ALLOWANCES:,} more: `signoff allow list`"))
    return blocks


def _week(home: Home) -> list[Block]:
    week = home.week
    if not week or not week.get("decisions"):
        return [section("*Your last 7 days*"), context("No decisions.")]
    median = week.get("median_seconds")
    glance = week.get("glance")
    return [section("*Your last 7 days*"),
            section(f"{count(week['decisions'], 'decision')}, median {median:.0f} s to decide"
                    + (f", {glance:.0%} in under 5 s" if glance else ""))]


def home_view(home: Home) -> dict[str, Any]:
    blocks: list[Block] = [header("Signoff"), *away_blocks(home.user, home.absences), divider(),
                           section(f"*Waiting for you* ({home.total_waiting:,})")]
    if not home.waiting:
        blocks.append(context("Nothing waits for you."))
    for action in home.waiting:
        blocks += _waiting_item(action, home.standing_for.get(action.id))
    blocks += _pager(home)
    blocks += [divider(), *_allowance_blocks(home), divider(), *_week(home)]
    if home.warnings is not None:
        blocks += [divider(), section("*Approval health* (you are a policy admin)")]
        blocks += [warning_section(w) for w in home.warnings[:MAX_WARNINGS]] or [
            context("No rubber-stamp warnings this month.")]
    return {"type": "home", "blocks": blocks}
