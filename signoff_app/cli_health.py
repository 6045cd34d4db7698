"""`signoff stats`, `signoff policy suggest` and `signoff allow`: approval health on the command line."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from policies.allowances import Allowance
from policies.loader import load_policy, resolve
from signoff import allowances, stats, suggest
from signoff.runtime import Runtime


class Emits(Protocol):
    def emit(self, data: Any, text: Any) -> None: ...


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{share:.0%}"


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def _window(since: datetime | None) -> str:
    if since is None:
        return "all history"
    days = round((datetime.now(UTC) - since).total_seconds() / 86400)
    return f"{days} days" if days != 1 else "1 day"


def _table(columns: list[tuple[str, int]], rows: list[list[str]]) -> list[str]:
    """Columns of the given widths: the first left-aligned (and cut), the figures right-aligned."""
    def line(cells: list[str]) -> str:
        first, *rest = cells
        return " ".join([f"{first[:columns[0][1]]:<{columns[0][1]}}",
                         *(f"{cell:>{width}}" for cell, (_, width) in zip(rest, columns[1:], strict=True))])

    return [line([name for name, _ in columns]), *map(line, rows)]


def health_text(health: stats.Health) -> str:
    lines = [f"Approval health, {_window(health.since)} ({health.events:,} audit events read)", ""]
    rules = [r.figures() | {"held": r.requests} for r in sorted(health.rules.values(), key=lambda r: -r.requests)]
    lines += _table([("rule", 24), ("held", 6), ("approved", 9), ("edited", 7), ("rejected", 9), ("expired", 8),
                     ("median", 7), ("p90", 7), ("glance", 7), ("reminded", 9)],
                    [[f["rule"], f"{f['held']:,}", _pct(f["approved"]), _pct(f["edited"]), _pct(f["rejected"]),
                      _pct(f["expired"]), _secs(f["median_seconds"]), _secs(f["p90_seconds"]), _pct(f["glance"]),
                      _pct(f["after_reminder"])] for f in rules])
    people = [r.figures() for r in sorted(health.reviewers.values(), key=lambda r: -r.decisions)]
    lines.append("")
    lines += _table([("reviewer", 24), ("decisions", 9), ("median", 7), ("glance", 7), ("long-glance", 12),
                     ("flagged/undone", 15)],
                    [[f["reviewer"], f"{f['decisions']:,}", _secs(f["median_seconds"]), _pct(f["glance"]),
                      _pct(f["long_glance_approvals"]), _pct(f["flagged_or_undone"])] for f in people])
    frictions = [(r.rule, found) for r in health.rules.values() if (found := r.friction_figures())]
    if frictions:
        lines += ["", "Friction (confirm: typed, min_review_seconds), glance share before → after:"]
        lines += [f"  {rule}: {_pct(f['before']['glance'])} of {f['before']['decisions']:,} → "
                  f"{_pct(f['after']['glance'])} of {f['after']['decisions']:,}" for rule, f in frictions]
    warnings = health.warnings()
    lines += ["", "Rubber-stamp warnings:" if warnings else "No rubber-stamp warnings."]
    lines += [f"  ! {w.text}\n    → {w.advice}" for w in warnings]
    lines += ["", f"glance: decided in under {stats.GLANCE_SECONDS:g} s; long-glance: approvals of messages of "
                  f"{stats.LONG_MESSAGE}+ characters decided that fast; reminded: decided only after a reminder"]
    return "\n".join(lines)


def cmd_stats(rt: Runtime, args: argparse.Namespace, out: Emits) -> int:
    health = stats.approval_health(rt.connection, since=args.since, rule=args.rule)
    out.emit(health.figures(), lambda: health_text(health))
    return 0


def cmd_policy_suggest(rt: Runtime, args: argparse.Namespace, out: Emits) -> int:
    source = args.policy or rt.settings.policy
    path = resolve(source)
    policy = load_policy(source)
    before = path.read_text()
    found = suggest.suggestions(rt.connection, policy, args.since, _window(args.since))
    after = suggest.suggested_text(before, found, str(path))
    written = args.write if args.write and found else None  # nothing to suggest: no unchanged copy either
    if written:
        Path(written).write_text(after)
    patch = suggest.diff(before, after, str(path))
    data = {"policy": str(path), "suggestions": [{"rule": s.rule, "before": s.group.rule, "evidence": s.evidence}
                                                 for s in found], "diff": patch, "written": written}

    def text() -> str:
        if not found:
            return (f"No suggestions for {path}: no rule's history ({_window(args.since)}) shows a pattern yet"
                    + (f"; nothing written to {args.write}." if args.write else "."))
        told = (f"\nwritten to {args.write}: read it, check it (`signoff policy check {args.write}`), "
                "then commit it yourself") if args.write else "\n(nothing written: --write FILE writes it)"
        return patch + told

    out.emit(data, text)
    return 0


def _allowance_line(a: Allowance, uses: int) -> str:
    return (f"{a.id}  until {a.expires_at:%Y-%m-%d %H:%M} UTC  by {a.author:<16} {a.describe()}  "
            f"[{uses} let through]")


def cmd_allow_list(rt: Runtime, args: argparse.Namespace, out: Emits) -> int:
    found = allowances.with_uses(rt, allowances.active(rt))
    out.emit([{**a.model_dump(mode="json"), "uses": uses} for a, uses in found],
             lambda: "\n".join(_allowance_line(a, uses) for a, uses in found) or "no standing allowances")
    return 0


def cmd_allow_explain(rt: Runtime, args: argparse.Namespace, out: Emits) -> int:
    a = allowances.get(rt, args.id)
    uses = allowances.uses(rt, a.id)
    musts = [f"  - {r.describe()}" for r in a.requirements] or ["  - (no parameter must match)"]
    text = "\n".join([
        f"{a.id}: {a.author} allowed similar actions when approving {a.from_action}"
        + (f" — “{a.reason}”" if a.reason else ""),
        f"It lets a {a.type} from agent {a.agent} run without waiting, where rule {a.rule} would hold it, if:",
        *musts,
        f"until {a.expires_at:%Y-%m-%d %H:%M} UTC; so far it let {uses} through.",
        "Anything unusual (a risk, a freeze, closed hours, the agent asking for review) still waits for a person.",
        f"Revoke it: signoff allow revoke {a.id}"])
    out.emit({**a.model_dump(mode="json"), "uses": uses}, lambda: text)
    return 0


def cmd_allow_revoke(rt: Runtime, args: argparse.Namespace, out: Emits) -> int:
    a = allowances.revoke(rt, args.id, by=args.by)
    out.emit({"revoked": a.id}, lambda: f"revoked {a.id}: {a.describe()} now waits for a person again")
    return 0


def add_commands(sub: Any, policy_sub: Any, since: Any) -> list[argparse.ArgumentParser]:
    """The subcommands, added to the CLI's parser; returns those that take --json."""
    p = sub.add_parser("stats", help="approval health per rule and per reviewer, with rubber-stamp warnings")
    p.add_argument("--since", type=since, default=since("30d"), help="ISO time or age (default 30d)")
    p.add_argument("--rule", help="only this rule")
    p.set_defaults(func=cmd_stats)

    p = policy_sub.add_parser("suggest", help="rules the decision history suggests, as a diff (never applied)")
    p.add_argument("--since", type=since, default=since("30d"), help="ISO time or age (default 30d)")
    p.add_argument("--policy", help="policy file (default: SIGNOFF_POLICY)")
    p.add_argument("--write", metavar="FILE", help="write the suggested policy to FILE for a person to commit")
    p.set_defaults(func=cmd_policy_suggest)

    allow = sub.add_parser("allow", help="standing allowances made with \"Approve and allow similar\"")
    asub = allow.add_subparsers(dest="allow_command", required=True, metavar="SUBCOMMAND")
    listed = asub.add_parser("list", help="the allowances in force")
    listed.set_defaults(func=cmd_allow_list)
    explained = asub.add_parser("explain", help="what one allowance lets through, and how often it has")
    explained.add_argument("id")
    explained.set_defaults(func=cmd_allow_explain)
    revoked = asub.add_parser("revoke", help="end an allowance now")
    revoked.add_argument("id")
    revoked.add_argument("--by", default="cli", help="who revokes it, for the audit log")
    revoked.set_defaults(func=cmd_allow_revoke)
    return [listed, explained, revoked]
