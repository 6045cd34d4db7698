"""`signoff`: the command line for people and for agents that are not written in Python."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import redis

from bot.client import web_client
from bot.jobs import JOB_MODULES as SLACK_JOB_MODULES
from bot.jobs.digests import send_digest, send_due_digests
from bot.views.digest import digest_text
from policies import PolicyError, Subject, explain, load_policy
from policies.teams import load_teams
from signoff import __version__, lifecycle, retention
from signoff.audit import read_events, write_export
from signoff.config import Settings, get_settings
from signoff.digests import build
from signoff.embedded_redis import EmbeddedRedis
from signoff.errors import SignoffError
from signoff.logging import configure_logging
from signoff.models import Outcome, Status
from signoff.runtime import SLACK_QUEUE, Runtime
from signoff.sdk import Signoff
from signoff.signing import MissingDecisionKey, decision_key, public_key_text
from signoff_app import cli_acl, cli_away, cli_format, cli_health, cli_tokens, health_check, hook, hook_install
from workers.job_class import JOB_MODULES
from workers.scheduler import run_scheduler
from workers.worker import recover_abandoned, run_worker

_RELATIVE = re.compile(r"^(\d+)([smhd])$")


def _param(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"{text!r}: write parameters as key=value")
    key, value = text.split("=", 1)
    # JSON only for lists and objects; the schema turns "120" into a number where it wants one.
    if value[:1] in "[{":
        try:
            return key, json.loads(value)
        except json.JSONDecodeError as exc:
            raise argparse.ArgumentTypeError(f"{key}: not valid JSON ({exc.msg})") from None
    return key, value


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("parameters must be a JSON object")
    return value


def _since(text: str) -> datetime:
    relative = _RELATIVE.match(text)
    if relative:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[relative.group(2)]
        return datetime.now(UTC) - timedelta(**{unit: int(relative.group(1))})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give an ISO time or an age like 90m, 24h, 7d") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _params(args: argparse.Namespace) -> dict[str, Any] | None:
    if args.params_json is None and not args.param:
        return None
    return {**(args.params_json or {}), **dict(args.param or [])}


class Output:
    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def emit(self, data: Any, text: Callable[[], str]) -> None:
        if self.as_json:
            print(json.dumps(data, default=str, indent=2))
        else:
            print(text())


# Commands --------------------------------------------------------------------------------------

def cmd_submit(rt: Runtime, args: argparse.Namespace, out: Output) -> int:
    action = lifecycle.request(rt, rt.catalog.get(args.type), _params(args) or {}, agent=args.agent,
                               reason=args.reason, review=args.review)
    if args.wait is not None:
        outcome = Outcome.of(rt.store.wait_settled(action.id, args.wait, current=action))
        out.emit(outcome.model_dump(mode="json"), lambda: cli_format.outcome_text(outcome))
        return 0
    out.emit({"id": action.id, "status": action.status}, lambda: f"{action.id} {action.status}")
    return 0


def cmd_show(rt: Runtime, args: argparse.Namespace, out: Output) -> int:
    action = rt.store.get(args.id)
    out.emit(action.model_dump(mode="json"), lambda: cli_format.action_detail(action, full=args.full))
    return 0


def cmd_list(rt: Runtime, args: argparse.Namespace, out: Output) -> int:
    actions = rt.store.newest(Status(args.status) if args.status else None, args.limit)
    out.emit([a.model_dump(mode="json") for a in actions],
             lambda: "\n".join([cli_format.list_header(), *(cli_format.action_line(a) for a in actions)])
             if actions else "no actions")
    return 0


def cmd_decide(rt: Runtime, args: argparse.Namespace, out: Output) -> int:
    decision: lifecycle.Decision = "approve" if args.command == "approve" else "reject"
    params = _params(args) if decision == "approve" else None
    action = lifecycle.decide(rt, args.id, decision, by=args.by, params=params, note=args.note,
                              version=args.version, typed=getattr(args, "typed", None))
    out.emit(action.model_dump(mode="json"), lambda: f"{action.id} {action.status} by {action.decided_by}")
    return 0


def cmd_cancel(rt: Runtime, args: argparse.Namespace, out: Output) -> int:
    action = lifecycle.cancel(rt, args.id, by=args.by, note=args.note)
    out.emit(action.model_dump(mode="json"), lambda: f"{action.id} {action.status}")
    return 0


def cmd_rerequest(rt: Runtime, args: argparse.Namespace, out: Output) -> int:
    again = lifecycle.rerequest(rt, args.id, by=args.by)
    out.emit(again.model_dump(mode="json"), lambda: f"{again.id} asked again for {args.id} ({again.status})")
    return 0


def cmd_extend(rt: Runtime, args: argparse.Namespace, out: Output) -> int:
    from signoff import deadlines

    extended = deadlines.extend(rt, args.id, by=args.by)
    assert extended.waiting is not None
    out.emit(extended.model_dump(mode="json"),
             lambda: f"{extended.id} now expires {extended.waiting.deadline_at:%Y-%m-%d %H:%M} UTC "  # type: ignore[union-attr]
                     f"({extended.waiting.extensions} of {extended.waiting.max_extensions} extensions)")  # type: ignore[union-attr]
    return 0


def cmd_audit(rt: Runtime, args: argparse.Namespace, out: Output) -> int:
    archived = retention.archived_before(rt)
    if archived is not None and (args.since is None or args.since < archived[0]):
        sys.stderr.write(f"History before {archived[0]:%Y-%m-%d %H:%M} UTC is archived in {archived[1]} "
                         "(dated .jsonl.gz files); this shows what Redis still holds.\n")
    write_export(read_events(rt.connection, since=args.since, action_id=args.action), args.format, sys.stdout)
    return 0


def cmd_archive(rt: Runtime, args: argparse.Namespace, out: Output) -> int:
    keep = args.older_than if args.older_than is not None else rt.settings.retention
    if keep is None:
        raise SignoffError("nothing to archive by: set SIGNOFF_RETENTION (e.g. 400d) or pass --older-than")
    directory = rt.settings.archive_path
    done = retention.archive(rt, datetime.now(UTC) - timedelta(seconds=keep), directory)
    out.emit({"actions": done.actions, "audit_entries": done.audit_entries, "directory": str(directory)},
             lambda: f"archived {done.actions:,} finished {'action' if done.actions == 1 else 'actions'} and "
                     f"{done.audit_entries:,} audit {'entry' if done.audit_entries == 1 else 'entries'} "
                     f"to {directory}")
    return 0


def cmd_policy_check(rt: Runtime | None, args: argparse.Namespace, out: Output) -> int:
    policy = load_policy(args.file)
    if rt is not None:  # with a store to ask, rules naming types nobody registered are worth a warning
        for warning in policy.unknown_types(rt.catalog.names()):
            print(f"warning: {warning}", file=sys.stderr)
    summary = {"file": args.file, "rules": [{"name": r.name, "mode": r.mode} for r in policy.rules],
               "approve_everything": policy.approve_everything}
    out.emit(summary, lambda: f"{args.file}: ok, {len(policy.rules)} rules"
             + (" (approve_everything is on)" if policy.approve_everything else ""))
    return 0


def cmd_policy_explain(rt: Runtime | None, args: argparse.Namespace, out: Output) -> int:
    policy = load_policy(args.policy or get_settings().policy)
    category = args.category
    params = args.params or {}
    if rt is not None and args.type in rt.catalog.names():
        declared = rt.catalog.get(args.type)
        category = category if category is not None else declared.category
        params = declared.check_params(params)  # as a request's: `"amount": "lots"` is refused, not matched
    checks = explain(policy, Subject(args.type, category, args.agent, params))
    data = [{"rule": c.rule.name, "mode": c.rule.mode, "matched": c.matched, "why": c.why} for c in checks]
    if policy.approve_everything:
        out.emit({"approve_everything": True, "rules": data}, lambda: "=> approve_everything is on: "
                 "every action waits for a person")
        return 0
    out.emit(data, lambda: cli_format.explanation(checks))
    return 0


def cmd_types(rt: Runtime, args: argparse.Namespace, out: Output) -> int:
    types = rt.catalog.all()
    out.emit([t.model_dump() for t in types], lambda: "\n".join(
        f"{t.name:<20} {t.category or '-':<24} {', '.join(t.params_schema.get('properties', {}))}"
        for t in sorted(types, key=lambda t: t.name)) or "no action types registered yet")
    return 0


def cmd_agents(rt: Runtime, args: argparse.Namespace, out: Output) -> int:
    if args.resume:
        resumed = rt.signals.resume(args.resume)
        held = [a.id for a in rt.store.newest(Status.PENDING_APPROVAL, limit=5000)
                if a.agent == args.resume and any(" is paused: " in r for r in a.risk)]
        still = (f"; the {len(held)} action{'' if len(held) == 1 else 's'} held while it was paused still wait for a "
                 "person (decide them in Slack, or `signoff approve|reject ID`)" if held else "")
        out.emit({"agent": args.resume, "resumed": resumed, "still_waiting": held},
                 lambda: (f"{args.resume} resumed: its next actions are routed by the policy again{still}"
                          if resumed else f"{args.resume} was not paused{still}"))
        return 0
    paused = rt.signals.paused_agents()
    out.emit(paused, lambda: "\n".join(f"{a}: paused, {why}" for a, why in paused.items()) or "no agent paused")
    return 0


def cmd_worker(rt: Runtime, args: argparse.Namespace, out: Output) -> int:
    actions = [m.strip() for m in args.actions.split(",") if m.strip()] if args.actions is not None else None
    run_worker(rt, burst=args.burst, name=args.name, actions=actions, job_modules=[*JOB_MODULES, *SLACK_JOB_MODULES],
               fork=not args.no_fork)
    return 0


def cmd_scheduler(rt: Runtime, args: argparse.Namespace, out: Output) -> int:
    # Each team's own clock, read in its timezone, decides whether its digest is due.
    run_scheduler(rt, [(send_due_digests, SLACK_QUEUE, 60)] if rt.slack_enabled else [])
    return 0


def cmd_bot(rt: Runtime, args: argparse.Namespace, out: Output) -> int:
    # Bolt and the web server are imported by the commands that run them: every other command starts faster.
    from bot.app import build_app, serve_socket_mode
    from bot.web import serve, serve_workers
    from signoff_app.web import create_web

    if args.socket:
        serve_socket_mode(rt)
    elif args.workers > 1:
        build_app(rt)  # a set-up error (no signing secret, no decision key) stops here, in one line
        serve_workers("signoff_app.web:from_environment", args.host, args.port, args.workers)
    else:
        serve(create_web(rt), args.host, args.port)
    return 0


def _duration(text: str) -> float:
    relative = _RELATIVE.match(text)
    if not relative:
        raise argparse.ArgumentTypeError(f"{text!r}: give an age like 12h, 90d")
    return int(relative.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[relative.group(2)]


def cmd_hook(_rt: Runtime | None, args: argparse.Namespace, out: Output) -> int:
    if args.install:
        path = hook_install.install(Path(args.install), get_settings(), args.timeout)
        out.emit({"settings": str(path)}, lambda: f"Claude Code's hooks are in {path}: every tool call now asks "
                 "Signoff (restart Claude Code, or open /hooks, to load them)")
        return 0
    # Whatever happens, Claude Code gets an answer on stdout: a failure is a `deny` that says why.
    try:
        raw = sys.stdin.read()
        missing = _no_signoff_here(get_settings())
        if missing:
            print(json.dumps(hook.answer("deny", missing)))
            return 0
        signoff = Signoff()
    except BaseException as failed:
        print(json.dumps(hook.answer("deny", f"Signoff's hook could not start ({type(failed).__name__}); denied.")))
        return 0
    print(json.dumps(hook.claude_code(raw, signoff, timeout=args.timeout)))
    return 0


def _no_signoff_here(settings: Settings) -> str | None:
    """Why there is no Signoff to ask, where nothing configures one and no embedded one runs here; None if
    there is. Nothing is started: a new empty Redis would answer for nobody."""
    if settings.api_url or not settings.embedded_redis or EmbeddedRedis(settings.data_dir).is_running():
        return None
    return (f"Signoff's hook found no Signoff to ask: no SIGNOFF_API_URL or REDIS_URL, and no Signoff running in "
            f"{settings.data_dir.resolve()}. Set it up with `signoff hook claude-code --install` where Signoff "
            "runs; denied until then.")


def cmd_mcp(rt: Runtime, args: argparse.Namespace, out: Output) -> int:
    from signoff_app import mcp_gate  # fastmcp is the `mcp` extra: imported only for this command

    if bad := [pair for pair in args.category if "=" not in pair]:
        raise SignoffError(f"--category takes TOOL=CATEGORY, not {bad[0]!r}")
    categories = dict(pair.split("=", 1) for pair in args.category)
    mcp_gate.serve(rt, upstream=args.upstream, upstream_url=args.upstream_url, categories=categories,
                   wait=args.wait, http_port=args.http_port, agent=args.agent)
    return 0


def cmd_sandbox(_rt: Runtime | None, args: argparse.Namespace, out: Output) -> int:
    from signoff_app.sandbox.run import run_sandbox

    return run_sandbox(port=args.port, bot_port=args.bot_port, agent=not args.no_agent)


def cmd_digest(rt: Runtime, args: argparse.Namespace, out: Output) -> int:
    team = load_teams(rt.settings.teams).get(args.team)
    digest = build(rt.connection, team, show=None) if args.dry_run else send_digest(rt, team, web_client(rt.settings))
    out.emit({"team": team.name, "items": digest.item_ids, "sent": not args.dry_run},
             lambda: digest_text(digest) + ("" if args.dry_run else f"\nsent to {team.channel}"))
    return 0


def cmd_recover(rt: Runtime, args: argparse.Namespace, out: Output) -> int:
    count = recover_abandoned(rt, at=args.at)
    out.emit({"recovered": count}, lambda: f"{count} abandoned job(s) handed to failure handling")
    return 0


def cmd_redis(_rt: Runtime | None, args: argparse.Namespace, out: Output) -> int:
    server = EmbeddedRedis(get_settings().data_dir)
    if args.redis_command == "stop":
        server.stop()
        out.emit({"stopped": True}, lambda: "embedded Redis stopped")
    else:
        url = server.ensure_running()
        out.emit({"url": url}, lambda: url)
    return 0


def cmd_key(_rt: Runtime | None, args: argparse.Namespace, out: Output) -> int:
    key = decision_key(get_settings())
    if key is None:
        raise MissingDecisionKey()
    public = public_key_text(key)
    out.emit({"verify_key": public}, lambda: public)
    return 0


def cmd_up(_rt: Runtime | None, args: argparse.Namespace, out: Output) -> int:
    from signoff_app.supervisor import run_stack

    return run_stack(workers=args.workers)


# Parser ----------------------------------------------------------------------------------------

def _redacted_url(settings: Any) -> str:
    url = settings.redis_url or ("sentinel " + settings.redis_sentinels if settings.redis_sentinels else "embedded")
    return re.sub(r"//[^@/]*@", "//***@", url)  # a password in the URL never reaches the terminal


class DefaultsShown(argparse.HelpFormatter):
    """Each option's default in its help, where it has one worth saying (not None, False or a list)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if "%(default)" in text or "default" in text or default in (None, False, argparse.SUPPRESS) \
                or isinstance(default, list | dict) or not action.option_strings:
            return action.help
        return f"{text} (default: %(default)s)" if text else "(default: %(default)s)"


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as every other error: one line on stderr, naming where to look; exit status 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", DefaultsShown)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="signoff", description="Human sign-off for AI agents' actions.")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--version", action="version", version=f"signoff {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def params_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--param", "-p", type=_param, action="append", metavar="KEY=VALUE",
                       help="a parameter; repeat for more")
        p.add_argument("--params-json", type=_json_object, metavar="JSON", help="all parameters as JSON")

    p = sub.add_parser("up", help="run Redis (embedded unless REDIS_URL), workers and the scheduler")
    p.add_argument("--workers", type=int, default=1, help="worker processes to run")
    p.set_defaults(func=cmd_up, needs_runtime=False)

    p = sub.add_parser("worker", help="run a worker on Signoff's queues")
    p.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    p.add_argument("--name", help="the worker's name in RQ (default: a unique one)")
    p.add_argument("--no-fork", action="store_true",
                   help="run each job in the worker's own process (RQ's SimpleWorker): faster for quick actions, "
                        "but an action that crashes the process takes the worker down")
    p.add_argument("--actions", metavar="MODULES",
                   help="modules that declare the action functions this worker may run (default: SIGNOFF_ACTIONS)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("bot", help="run the Slack app over HTTP (POST /slack/events, GET /healthz) or Socket Mode")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--http", action="store_true", help="serve Slack's requests over HTTP (default)")
    mode.add_argument("--socket", action="store_true", help="connect over Socket Mode (needs SLACK_APP_TOKEN)")
    p.add_argument("--host", default="0.0.0.0", help="address to listen on")
    p.add_argument("--port", type=int, default=3000, help="port to listen on (0: any free one, logged)")
    p.add_argument("--workers", type=int, default=1, help="web processes behind the port (HTTP only)")
    p.set_defaults(func=cmd_bot)

    p = sub.add_parser("sandbox", help="the whole loop on this machine, with a local Slack in your browser")
    p.add_argument("--port", type=int, default=8088, help="the sandbox page and its Web API")
    p.add_argument("--bot-port", type=int, default=0, help="the bot's own port (default: any free one)")
    p.add_argument("--no-agent", action="store_true", help="do not run the sample agent at start")
    p.set_defaults(func=cmd_sandbox, needs_runtime=False)

    p = sub.add_parser("scheduler", help="run RQ's cron scheduler for Signoff's periodic jobs")
    p.set_defaults(func=cmd_scheduler)

    p = sub.add_parser("submit", help="request an action")
    p.add_argument("type", help="the action type (`signoff types` lists them)")
    params_options(p)
    p.add_argument("--agent", required=True, help="which agent asks")
    p.add_argument("--reason", required=True, help="why the agent wants it: reviewers read this")
    p.add_argument("--review", action="store_true", help="ask for a person's review whatever the policy")
    p.add_argument("--wait", type=float, metavar="SECONDS", help="wait for the outcome")
    p.set_defaults(func=cmd_submit)

    p = sub.add_parser("show", help="show one action")
    p.add_argument("id", help="the action's id")
    p.add_argument("--full", action="store_true", help="every value whole (long ones are cut otherwise)")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("list", help="list actions, newest first")
    p.add_argument("--status", choices=[s.value for s in Status], help="only actions in this status")
    p.add_argument("--limit", type=int, default=50, help="at most this many")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("approve", help="approve a waiting action, optionally with edited parameters")
    p.add_argument("id", help="the action's id")
    p.add_argument("--by", required=True, help="who approves (a Slack user ID such as U0ALICE, or a name)")
    p.add_argument("--note", help="a note for the audit log and the agent")
    p.add_argument("--version", type=int, help="the version you reviewed; refused if it changed since")
    p.add_argument("--typed", metavar="TEXT", help="the confirmation a rule with `confirm: typed` asks for (the "
                                                   "amount, or the recipient's domain)")
    params_options(p)
    p.set_defaults(func=cmd_decide)

    p = sub.add_parser("reject", help="reject a waiting action")
    p.add_argument("id", help="the action's id")
    p.add_argument("--by", required=True, help="who rejects (a Slack user ID such as U0ALICE, or a name)")
    p.add_argument("--note", required=True, help="why: the agent is told")
    p.add_argument("--version", type=int, help="the version you reviewed; refused if it changed since")
    p.set_defaults(func=cmd_decide)

    p = sub.add_parser("cancel", help="withdraw an action that has not started")
    p.add_argument("id", help="the action's id")
    p.add_argument("--by", required=True, help="who withdraws it, for the audit log")
    p.add_argument("--note", help="why, for the audit log")
    p.set_defaults(func=cmd_cancel)

    p = sub.add_parser("rerequest", help="ask again for an expired action: a new action, linked to it")
    p.add_argument("id", help="the expired action's id")
    p.add_argument("--by", default="cli", help="who asks again, for the audit log")
    p.set_defaults(func=cmd_rerequest)

    p = sub.add_parser("extend", help="give a waiting action more time, as its rule allows (extend_by, max_extensions)")
    p.add_argument("id", help="the action's id")
    p.add_argument("--by", required=True, help="who extends it, for the audit log")
    p.set_defaults(func=cmd_extend)

    p = sub.add_parser("audit", help="export the audit log")
    p.add_argument("--since", type=_since, help="ISO time or age (90m, 24h, 7d)")
    p.add_argument("--action", metavar="ID", help="only this action's events")
    p.add_argument("--format", choices=["jsonl", "csv"], default="jsonl", help="one JSON object a line, or CSV")
    p.set_defaults(func=cmd_audit)

    policy = sub.add_parser("policy", help="check and explain policy files")
    psub = policy.add_subparsers(dest="policy_command", required=True, metavar="SUBCOMMAND")
    p = psub.add_parser("check", help="validate a policy file")
    p.add_argument("file", help="the policy file (YAML)")
    p.set_defaults(func=cmd_policy_check, needs_runtime="optional")
    p = psub.add_parser("explain", help="which rule matches an action, and why")
    p.add_argument("--type", required=True, help="the action type")
    p.add_argument("--params", type=_json_object, default={}, help="its parameters as JSON, checked as a request's")
    p.add_argument("--agent", default="-", help="the agent asking")
    p.add_argument("--category", help="default: the registered category of --type")
    p.add_argument("--policy", help="policy file (default: SIGNOFF_POLICY)")
    p.set_defaults(func=cmd_policy_explain, needs_runtime="optional")

    p = sub.add_parser("digest", help="show (--dry-run) or send a team's digest now")
    p.add_argument("--team", required=True, help="the team's name in the teams file (SIGNOFF_TEAMS)")
    p.add_argument("--dry-run", action="store_true", help="show it; send nothing and keep the team's cursor")
    p.set_defaults(func=cmd_digest)

    p = sub.add_parser("types", help="list registered action types and their parameters")
    p.set_defaults(func=cmd_types)

    p = sub.add_parser("agents", help="list paused agents, or resume one; agent tokens for the HTTP API")
    p.add_argument("--resume", metavar="AGENT", help="lift the burst pause on AGENT")
    p.set_defaults(func=cmd_agents)
    asub = p.add_subparsers(dest="agents_command", metavar="token")
    extra_json = [*cli_tokens.add_command(asub, _duration), *cli_health.add_commands(sub, psub, _since),
                  *cli_away.add_command(sub)]

    p = sub.add_parser("hook", help="a coding agent's pre-tool hook, answered by policy and people")
    hsub = p.add_subparsers(dest="hook_command", required=True, metavar="AGENT")
    h = hsub.add_parser("claude-code", help="Claude Code's PreToolUse hook: JSON on stdin, its answer on stdout")
    h.add_argument("--timeout", type=float, default=hook.DEFAULT_TIMEOUT,
                   help=f"seconds to wait for a decision (default {hook.DEFAULT_TIMEOUT:g})")
    h.add_argument("--install", nargs="?", const=".", metavar="PROJECT",
                   help="write the hooks into PROJECT/.claude/settings.local.json (default: this directory), with "
                        "this signoff's absolute path and the connection it needs")
    h.set_defaults(func=cmd_hook, needs_runtime=False)

    p = sub.add_parser("mcp", help="an MCP server in front of another: each tool call passes the policy")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--upstream", help='the upstream server\'s command, e.g. "npx -y @modelcontextprotocol/'
                                           'server-filesystem ."')
    where.add_argument("--upstream-url", help="the upstream server's streamable HTTP address")
    p.add_argument("--category", action="append", default=[], metavar="TOOL=CATEGORY",
                   help="a tool's category for the policy (default: coding_tool)")
    p.add_argument("--wait", type=float, default=3600.0, help="seconds a held call waits for a decision")
    p.add_argument("--agent", help="the agent's name in Signoff (default: mcp:<the upstream server's name>)")
    p.add_argument("--http-port", type=int, help="serve streamable HTTP on this port instead of stdio")
    p.set_defaults(func=cmd_mcp)

    p = sub.add_parser("archive", help="move history older than SIGNOFF_RETENTION to dated JSONL.gz files now")
    p.add_argument("--older-than", type=_duration, help="instead of SIGNOFF_RETENTION, e.g. 400d")
    p.set_defaults(func=cmd_archive)

    p = sub.add_parser("recover", help="fail or retry actions whose worker died")
    p.add_argument("--at", type=float, help="treat jobs silent since before this Unix time as abandoned")
    p.set_defaults(func=cmd_recover)

    p = sub.add_parser("key", help="the verify key for processes that run on permits (MCP gate, hook, agents)")
    p.add_argument("key_command", choices=["public"], help="public: print SIGNOFF_VERIFY_KEY (not a secret)")
    p.set_defaults(func=cmd_key, needs_runtime=False)

    cli_acl.add_command(sub)
    health_check.add_command(sub)

    p = sub.add_parser("redis", help="the embedded Redis server")
    p.add_argument("redis_command", choices=["start", "stop", "url"])
    p.set_defaults(func=cmd_redis, needs_runtime=False)

    # `--json` reads the same before or after the command: `signoff --json show ID`, `signoff show ID --json`.
    for command in [*sub.choices.values(), *psub.choices.values(), *extra_json]:
        command.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    return parser


#: The commands that start the embedded Redis when nothing runs: the processes of a Signoff.
STARTS_SIGNOFF = ("worker", "up", "scheduler", "bot", "sandbox", "redis")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = get_settings()
    long_running = args.command in ("worker", "up", "scheduler", "bot", "sandbox")
    configure_logging(settings.log_format, settings.log_level if long_running else "warning",
                      settings.library_log_level if long_running else None)
    if long_running:
        from signoff_app.supervisor import follow_supervisor

        follow_supervisor()  # a child of `signoff up` or `sandbox` ends with it, however it ends
    out = Output(args.json)
    needs = getattr(args, "needs_runtime", True)
    try:
        rt: Runtime | None = None
        if needs is True and settings.embedded_redis and args.command not in STARTS_SIGNOFF \
                and not EmbeddedRedis(settings.data_dir).is_running():
            # A new empty Redis here would answer for nobody (and outlive the command).
            raise SignoffError(f"no Signoff is running in {settings.data_dir.resolve()}: start one there with "
                               "`make run` or `signoff up`, run this from that directory, or set REDIS_URL")
        if needs is True or (needs == "optional" and (not settings.embedded_redis or
                                                      EmbeddedRedis(settings.data_dir).is_running())):
            rt = Runtime()
        return int(args.func(rt, args, out))
    except BrokenPipeError:
        # The reader went away (`signoff list | head`): not an error. Python's own recipe, so the
        # final flush at exit does not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (SignoffError, PolicyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        print(f"error: cannot reach Redis ({_redacted_url(settings)}): {exc}. Is it running? "
              "`signoff redis start` starts the embedded one; REDIS_URL names another", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
