"""`signoff away`: operators set a reviewer away (and who decides for them), end it, or list who is away."""

from __future__ import annotations

import argparse
from typing import Any

from signoff import away, notify
from signoff.runtime import Runtime


def cmd_set(rt: Runtime, args: argparse.Namespace, out: Any) -> int:
    earlier = away.absences(rt).of(args.user)
    record = away.set_away(rt, args.user, away.parse_until(args.until), delegate=args.delegate, by=args.by)
    notify.absence_changed(rt, record.user, record.delegate, earlier.delegate if earlier else None)
    out.emit(record.model_dump(mode="json", exclude={"signature"}), lambda: f"{record.user} {record.describe()}")
    return 0


def cmd_back(rt: Runtime, args: argparse.Namespace, out: Any) -> int:
    ended = away.back(rt, args.user, by=args.by)
    if ended is not None:
        notify.absence_changed(rt, ended.user, ended.delegate)
    out.emit({"user": args.user, "was_away": ended is not None},
             lambda: f"{args.user} is back" if ended else f"{args.user} was not away")
    return 0


def cmd_list(rt: Runtime, args: argparse.Namespace, out: Any) -> int:
    found = sorted(away.absences(rt).records.values(), key=lambda r: r.until)
    out.emit([r.model_dump(mode="json", exclude={"signature"}) for r in found],
             lambda: "\n".join(f"{r.user:<12} until {r.until:%Y-%m-%d %H:%M} UTC  "
                               f"{'delegate ' + r.delegate if r.delegate else 'no delegate':<20} set by {r.set_by}"
                               for r in found) or "nobody is away")
    return 0


def add_command(sub: Any) -> list[argparse.ArgumentParser]:
    p = sub.add_parser("away", help="reviewers who are away: who decides for them meanwhile")
    asub = p.add_subparsers(dest="away_command", required=True, metavar="SUBCOMMAND")
    s = asub.add_parser("set", help="set a reviewer away; the rules that name them ask their delegate instead")
    s.add_argument("user", metavar="USER", help="their Slack user ID, e.g. U0ALICE")
    s.add_argument("--until", required=True, metavar="DATE",
                   help="2026-12-28 (back at the start of that day, UTC) or 2026-12-28T14:00")
    s.add_argument("--delegate", metavar="USER", help="the Slack user ID of who decides for them (default: nobody; "
                                                      "the rules' other approvers decide)")
    s.add_argument("--by", default="cli", help="who sets it, for the audit log")
    s.set_defaults(func=cmd_set)
    b = asub.add_parser("back", help="a reviewer is back: the rules ask them again")
    b.add_argument("user", metavar="USER", help="their Slack user ID")
    b.add_argument("--by", default="cli", help="who ends it, for the audit log")
    b.set_defaults(func=cmd_back)
    a = asub.add_parser("list", help="who is away, until when, and who decides for them")
    a.set_defaults(func=cmd_list)
    return [s, b, a]
