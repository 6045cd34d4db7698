"""`signoff redis-acl`: a restricted Redis user for an agent that holds Redis credentials."""

from __future__ import annotations

import argparse
import hashlib
import secrets
import urllib.parse
from typing import Any

from signoff import redis_acl
from signoff.connection import redis_url
from signoff.errors import SignoffError
from signoff.runtime import Runtime

MIN_VERSION = (7, 0)


def cmd_redis_acl(_rt: Runtime | None, args: argparse.Namespace, out: Any) -> int:
    password = secrets.token_urlsafe(24)
    digest = hashlib.sha256(password.encode()).hexdigest()
    command = redis_acl.setuser_command(args.user, digest)
    url = _agent_url(redis_url(), args.user, password)
    if args.apply:
        rt = Runtime()
        version = tuple(int(p) for p in str(rt.connection.info("server")["redis_version"]).split(".")[:2])
        if version < MIN_VERSION:
            raise SignoffError(f"this Redis is {'.'.join(map(str, version))}: restricted users need Redis 7 or "
                               "newer (key selectors); the HTTP API needs no Redis user at all")
        rt.connection.execute_command("ACL", "SETUSER", args.user, *redis_acl.agent_rules(digest))
    applied = "; the user is set" if args.apply else ""
    out.emit({"user": args.user, "acl": command, "applied": args.apply, "agent_env":
              {"REDIS_URL": url, "SIGNOFF_REDIS_ROLE": "agent"}},
             lambda: "\n".join([
                 *([] if args.apply else ["# run as a Redis admin (redis-cli), or add to the ACL file without 'ACL':",
                                          command, ""]),
                 f"# the agent's environment (the password is shown only now{applied}):",
                 f"export REDIS_URL='{url}'", "export SIGNOFF_REDIS_ROLE=agent"]))
    return 0


def _agent_url(admin_url: str, user: str, password: str) -> str:
    """The same server as `admin_url`, as `user`."""
    parts = urllib.parse.urlsplit(admin_url)
    credentials = f"{urllib.parse.quote(user, safe='')}:{urllib.parse.quote(password, safe='')}"
    if parts.scheme == "unix":
        query = urllib.parse.urlencode({**dict(urllib.parse.parse_qsl(parts.query)), "username": user,
                                        "password": password})
        return f"unix://{parts.path}?{query}"
    host = parts.hostname or "localhost"
    netloc = f"{credentials}@{host}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def add_command(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("redis-acl", help="a restricted Redis user for an agent (Redis 7+): it may queue requests "
                                         "and read actions, nothing else")
    p.add_argument("user", metavar="USER", help="the Redis user name to create, e.g. agent-support")
    p.add_argument("--apply", action="store_true", help="set the user on the configured Redis now (as its admin)")
    p.set_defaults(func=cmd_redis_acl, needs_runtime=False)
    return p
