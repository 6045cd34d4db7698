"""`signoff health [worker]`: a container's health check. Exit 0 when Redis answers (and, for `worker`,
a Signoff worker on this host has a live registration in RQ); otherwise exit 1 with one line why."""

from __future__ import annotations

import argparse
import socket
from typing import Any

from rq import Worker

from signoff.errors import SignoffError
from signoff.runtime import JOB_SERIALIZER, Runtime


def cmd_health(rt: Runtime, args: argparse.Namespace, out: Any) -> int:
    rt.connection.ping()
    if args.process == "worker":
        here = socket.gethostname()
        mine = [w for w in Worker.all(connection=rt.connection, serializer=JOB_SERIALIZER) if w.hostname == here]
        if not mine:
            raise SignoffError(f"no Signoff worker registered from {here}")
    out.emit({"healthy": True, "process": args.process}, lambda: "healthy")
    return 0


def add_command(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("health", help="a health check for containers: Redis answers (and this host's worker is "
                                      "registered)")
    p.add_argument("process", nargs="?", choices=["worker"], help="also check this host's worker")
    p.set_defaults(func=cmd_health)
    return p
