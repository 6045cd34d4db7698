"""Submitting with a restricted Redis user (`SIGNOFF_REDIS_ROLE=agent`, see `signoff.redis_acl`).

An agent whose Redis user may not write Signoff's records cannot create its action itself: it
checks the parameters against the shared catalogue (so bad input fails at once, in the agent),
then queues one job, `workers.jobs.record_request`, under a job id only such requests use. The
worker records the action with its own catalogue and routes it as if the agent had written it.
Until the worker has, the ticket reads `received` (the request job is still queued).
"""

from __future__ import annotations

import time
from typing import Any, cast

from signoff.catalog import ActionType
from signoff.errors import ActionNotFound, InvalidParams, SignoffError
from signoff.keys import PREFIX, action_key
from signoff.models import new_action_id
from signoff.runtime import Runtime
from signoff.store import transitions_channel

RECORD_JOB = "workers.jobs.record_request"
#: The job ids a restricted agent user may write (see `signoff.redis_acl`).
JOB_PREFIX = "signoff-request-"
REFUSALS_KEPT = 7 * 24 * 3600


class NotYetRecorded(ActionNotFound):
    """The request is still queued: no worker has recorded its action yet."""

    def __init__(self, action_id: str) -> None:
        super().__init__(action_id)
        self.args = (f"request {action_id} is queued: no worker has recorded it yet",)


class RequestRefused(SignoffError):
    """The worker refused to record the request (its parameters or type, by the worker's own catalogue)."""


def refusal_key(action_id: str) -> str:
    return f"{PREFIX}:request-refused:{action_id}"


def job_id(action_id: str) -> str:
    return f"{JOB_PREFIX}{action_id}"


def send(rt: Runtime, action_type: ActionType, params: dict[str, Any], *, agent: str, reason: str,
         review: bool = False) -> str:
    """Queues the request; returns the id its action will have. Invalid input raises InvalidParams."""
    for name, value in (("agent", agent), ("reason", reason)):
        if not value or not value.strip():
            raise InvalidParams(action_type.name, [f"{name}: is required"])
    action_type.check_params(params)  # the worker checks again, with its own schema
    action_id = new_action_id()
    rt.actions_queue.enqueue_call(
        RECORD_JOB, kwargs={"action_id": action_id, "type": action_type.name, "params": params, "agent": agent,
                            "reason": reason, "review": review},
        job_id=job_id(action_id), result_ttl=0)
    return action_id


def queued(rt: Runtime, action_id: str) -> bool:
    """The request is waiting for a worker to record it."""
    return bool(rt.connection.exists(rt.actions_queue.job_class.key_for(job_id(action_id))))


def refuse(rt: Runtime, action_id: str, reason: str) -> None:
    """The worker's answer to a request it will not record, kept for the agent to read."""
    rt.connection.set(refusal_key(action_id), reason, ex=REFUSALS_KEPT)
    rt.connection.publish(transitions_channel(action_id), "refused")


def check_recorded(rt: Runtime, action_id: str) -> None:
    """Raises NotYetRecorded while the request waits, RequestRefused if the worker refused it,
    ActionNotFound if there never was one; returns once the action is recorded."""
    if rt.connection.exists(action_key(action_id)):
        return
    refusal = cast(bytes | None, rt.connection.get(refusal_key(action_id)))
    if refusal is not None:
        raise RequestRefused(f"request {action_id} was refused by the worker: {refusal.decode()}")
    if queued(rt, action_id):
        raise NotYetRecorded(action_id)
    raise ActionNotFound(action_id)


def wait_recorded(rt: Runtime, action_id: str, timeout: float) -> float:
    """Blocks until a worker has recorded the request; returns what is left of `timeout`."""
    deadline = time.monotonic() + timeout
    with rt.connection.pubsub(ignore_subscribe_messages=True) as pubsub:
        pubsub.subscribe(transitions_channel(action_id))  # before looking, so the record cannot slip between
        while True:
            try:
                check_recorded(rt, action_id)
                return max(0.0, deadline - time.monotonic())
            except NotYetRecorded:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SignoffError(f"request {action_id} is still queued after {timeout:g} s: "
                                       "is a Signoff worker running?") from None
                pubsub.get_message(timeout=remaining)
