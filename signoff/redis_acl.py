"""The Redis ACL rules for an agent that holds Redis credentials (Redis 7 or newer: key selectors).

A full Redis writer cannot make anything run that people did not approve (see `signoff.door`),
but it can delete history, hold things up, and replay an approval by deleting its consumption
mark. A restricted agent user can do none of those: it may queue a request (`signoff.inbox`),
read action records and the catalogue, and hear its actions' transitions; every other write is
refused by Redis itself with NOPERM. Agents using it set `SIGNOFF_REDIS_ROLE=agent`.
"""

from __future__ import annotations

from signoff.catalog import TYPES_KEY
from signoff.inbox import JOB_PREFIX, refusal_key
from signoff.keys import PREFIX
from signoff.runtime import ACTIONS_QUEUE

_READS = "+get +mget +exists +hget +hgetall +hkeys +hmget +type"
_CONNECTION = "+ping +hello +select +multi +exec +discard"
_LISTEN = "+subscribe +unsubscribe"


def agent_rules(password_hash: str | None = None) -> list[str]:
    """The ACL SETUSER arguments after the user name. `password_hash`: SHA-256 hex of the password
    (`#…`, so the password itself never appears in a config file); None leaves passwords unchanged."""
    rq_job = f"rq:job:{JOB_PREFIX}*"
    return [
        "reset", "on", *([f"#{password_hash}"] if password_hash else []),
        "resetchannels", f"&{PREFIX}:transitions:*",
        "-@all", *_CONNECTION.split(), *_LISTEN.split(), *_READS.split(),
        f"%R~{PREFIX}:action:*", f"%R~{TYPES_KEY}", f"%R~{rq_job}", f"%R~{refusal_key('*')}",
        # A request: the job's hash, its place in the actions queue, the queue's name among RQ's queues.
        f"(+hset +expire +persist %W~{rq_job})",
        f"(+rpush %W~rq:queue:{ACTIONS_QUEUE})",
        "(+sadd %W~rq:queues)",
    ]


def setuser_command(user: str, password_hash: str | None = None) -> str:
    """One line for redis-cli (or a Redis ACL file without the leading `ACL SETUSER`)."""
    return " ".join(["ACL", "SETUSER", user, *(_quoted(rule) for rule in agent_rules(password_hash))])


def _quoted(rule: str) -> str:
    return f'"{rule}"' if " " in rule else rule
