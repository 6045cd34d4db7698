"""`signoff agents token`: tokens for agents that use the HTTP API (create, list, revoke)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from signoff import tokens
from signoff.errors import SignoffError
from signoff.runtime import Runtime


def cmd_token_create(rt: Runtime, args: argparse.Namespace, out: Any) -> int:
    types = [t.strip() for t in args.types.split(",") if t.strip()] if args.types else None
    token, record = tokens.create(rt.connection, args.name, types=types, expires_in=args.expires,
                                  can_declare=args.declare)
    # The token alone on stdout, so `export SIGNOFF_AGENT_TOKEN=$(signoff agents token create NAME)` works.
    if not out.as_json:
        print(f"(shown once; Signoff keeps only its hash. id {record.id}, agent {record.agent})", file=sys.stderr)
    out.emit({"token": token, **record.model_dump()}, lambda: token)
    return 0


def cmd_token_list(rt: Runtime, args: argparse.Namespace, out: Any) -> int:
    found = tokens.all_tokens(rt.connection)
    out.emit([t.model_dump() for t in found], lambda: "\n".join(
        f"{t.id}  {t.agent:<20} types: {','.join(t.types) if t.types else 'any'}"
        f"{'  may declare' if t.can_declare else ''}  "
        + (f"expires {datetime.fromtimestamp(t.expires_at, UTC):%Y-%m-%d %H:%M} UTC" if t.expires_at else
           "never expires") + ("  EXPIRED" if t.expired() else "") for t in found) or "no agent tokens")
    return 0


def cmd_token_revoke(rt: Runtime, args: argparse.Namespace, out: Any) -> int:
    if not tokens.revoke(rt.connection, args.id):
        raise SignoffError(f"no agent token with id {args.id!r} (see `signoff agents token list`)")
    out.emit({"revoked": args.id}, lambda: f"{args.id} revoked")
    return 0


def add_command(agents: Any, duration: Callable[[str], float]) -> list[argparse.ArgumentParser]:
    """`token` under `signoff agents`; returns its parsers, which take `--json` too."""
    token = agents.add_parser("token", help="agent tokens for the HTTP API: create, list, revoke")
    tsub = token.add_subparsers(dest="token_command", required=True, metavar="SUBCOMMAND")
    t = tsub.add_parser("create", help="a token for agent NAME, printed once")
    t.add_argument("name", metavar="NAME")
    t.add_argument("--types", metavar="T1,T2", help="the action types it may submit (default: any)")
    t.add_argument("--expires", type=duration, metavar="AGE", help="e.g. 90d (default: never)")
    t.add_argument("--declare", action="store_true", help="it may declare types it performs itself")
    t.set_defaults(func=cmd_token_create)
    t = tsub.add_parser("list", help="the tokens, without the tokens themselves")
    t.set_defaults(func=cmd_token_list)
    t = tsub.add_parser("revoke", help="revoke a token by its id")
    t.add_argument("id", help="the token's id (`signoff agents token list`)")
    t.set_defaults(func=cmd_token_revoke)
    return [token, *tsub.choices.values()]
