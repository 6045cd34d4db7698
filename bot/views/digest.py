"""The daily digest: counts per agent and type, failures first, unusual items marked, a Flag button each."""

from __future__ import annotations

from bot.views.approval import summary
from bot.views.blocks import Block, button, context, divider, header, section
from bot.views.text import count, humanize, mrkdwn, person
from signoff.digests import SHOWN, Digest
from signoff.models import Action, Status
from signoff.stats import Health, Warning

FLAG, UNDO = "signoff_flag", "signoff_request_undo"
MAX_ITEMS = SHOWN
MAX_ALLOWANCE_AUTHORS = 5  # headings; with the items, the message stays within Slack's 50 blocks


def empty_text(digest: Digest) -> str:
    return f"Nothing ran without approval for {digest.team.name} since the last digest."


def headline(digest: Digest) -> str:
    failed = f", {digest.failed:,} failed" if digest.failed else ""
    return f"Daily digest for {digest.team.name}: {count(digest.count, 'action')} ran without approval{failed}"


def _item(action: Action) -> str:
    mark = ":warning: *failed*" if action.status == Status.FAILED else (
        ":triangular_flag_on_post: *flagged*" if action.review == "flagged" else
        ":eyes: *to review*" if action.review == "pending_review" else ":white_check_mark:")
    risk = f"\n:grey_exclamation: {mrkdwn('; '.join(action.risk), 500)}" if action.risk else ""
    error = f"\n{mrkdwn(action.error or '', 300)}" if action.status == Status.FAILED else ""
    return (f"{mark} {mrkdwn(summary(action), 300)} — {mrkdwn(action.agent, 80)} · rule "
            f"{mrkdwn(action.rule or '-', 80)} · `{action.id}`{risk}{error}")


def digest_blocks(digest: Digest) -> list[Block]:
    if not digest.count:
        return [section(empty_text(digest))]
    per_agent: dict[str, list[str]] = {}
    for (agent, kind), times in sorted(digest.per_agent_and_type.items()):
        per_agent.setdefault(agent, []).append(f"{humanize(kind).lower()} x {times:,}")
    counts = "\n".join(f"*{mrkdwn(agent, 80)}*: {', '.join(kinds)}" for agent, kinds in per_agent.items())
    blocks: list[Block] = [header(headline(digest)), section(counts), divider()]
    shown = digest.shown[:MAX_ITEMS]
    for action in [a for a in shown if a.allowance is None]:
        blocks.append(section(_item(action), accessory=button("Flag", FLAG, action.id)))
    # What a reviewer's standing allowance let through, under that reviewer's name: they said yes to it.
    authors = sorted(digest.allowed, key=lambda a: -digest.allowed[a])
    for author in authors[:MAX_ALLOWANCE_AUTHORS]:
        blocks.append(section(f"Allowed by {person(author)}'s allowance ({count(digest.allowed[author], 'action')}):"))
        blocks += [section(_item(a), accessory=button("Flag", FLAG, a.id)) for a in shown
                   if a.allowance and a.allowance.get("author") == author]
    if len(authors) > MAX_ALLOWANCE_AUTHORS:
        rest = sum(digest.allowed[a] for a in authors[MAX_ALLOWANCE_AUTHORS:])
        blocks.append(context(f"and {count(rest, 'action')} allowed by other people's allowances: "
                              "`signoff allow list`"))
    if digest.count > MAX_ITEMS:
        blocks.append(context(f"and {digest.count - MAX_ITEMS:,} more: "
                              f"`signoff digest --team {digest.team.name} --dry-run` lists them all"))
    blocks.append(context(f"Team *{mrkdwn(digest.team.name, 80)}* · {digest.team.at} {digest.team.timezone}"))
    return blocks


def digest_text(digest: Digest) -> str:
    """The same digest for a terminal (`signoff digest --dry-run`)."""
    if not digest.count:
        return empty_text(digest)
    lines = [headline(digest)]
    counts = sorted(digest.per_agent_and_type.items())
    lines += [f"  {agent}: {humanize(kind).lower()} x {n}" for (agent, kind), n in counts]
    lines += [f"  allowed by {author}'s allowance: {count(n, 'action')}" for author, n in digest.allowed.items()]
    lines += [f"  [{a.status}{', ' + a.review if a.review != 'none' else ''}] {summary(a)} ({a.agent}, {a.id})"
              + (f" allowed by {a.allowance['author']}'s allowance" if a.allowance else "")
              for a in digest.shown]
    return "\n".join(lines)


def flagged_text(action: Action, by: str, owner_told: bool) -> str:
    told = "Its owner has been told." if owner_told else "The agent has no registered owner to tell."
    return f"{person(by)} flagged *{mrkdwn(summary(action), 300)}* (`{action.id}`). {told}"


MAX_WEEKLY_RULES = 10


def warning_section(warning: Warning) -> Block:
    """A rubber-stamp warning and what to do about it (the weekly digest, an admin's Home tab)."""
    return section(f":warning: {mrkdwn(warning.text, 600)}\n→ {mrkdwn(warning.advice, 600)}")


def weekly_blocks(health: Health, rules: list[str] | None) -> list[Block]:
    """The weekly approval-health section: the team's rules' figures, and the rubber-stamp warnings."""
    watched = [r for r in sorted(health.rules.values(), key=lambda r: -r.requests)
               if rules is None or r.rule in rules]
    lines = []
    for r in watched[:MAX_WEEKLY_RULES]:
        f = r.figures()
        median = f"median {f['median_seconds']:.0f} s" if f["median_seconds"] is not None else "none decided"
        approved = f"{f['approved']:.0%} approved as asked" if f["approved"] is not None else "none decided yet"
        lines.append(f"*{mrkdwn(r.rule, 80)}*: {count(r.requests, 'request')}, {approved}, {median}")
    warnings = [w for w in health.warnings() if w.about == "reviewer" or rules is None or w.name in rules]
    blocks: list[Block] = [divider(), section("*Approval health, last 7 days*\n" + ("\n".join(lines) or
                                                                                    "No rule held anything."))]
    blocks += [warning_section(w) for w in warnings[:5]]
    blocks.append(context("`signoff stats --since 7d` has every figure; `signoff policy suggest` proposes rules"))
    return blocks
