"""Batch jobs: an action joins its rule's open batch; the window's end, on RQ's scheduler, sends it."""

from __future__ import annotations

from datetime import timedelta

from policies.rules import Batching
from signoff import notify
from signoff.batches import PAUSED_RULE, Batches
from signoff.job_runtime import job_runtime
from signoff.jobs import signoff_job
from signoff.models import Action
from signoff.runtime import Runtime

CLOSE_BATCH_JOB = "workers.batch_jobs.close_batch"


#: The calls one paused agent run waits on form one batch message; the window only guards a lost call.
RUN_BATCH_WINDOW = 60.0
#: A runaway agent's held actions: gathered for a minute (or a hundred) into one message.
PAUSED_BATCH_WINDOW, PAUSED_BATCH_MAX = 60.0, 100


def add_to_batch(rt: Runtime, action: Action, rule: str, batching: Batching, group: str | None = None) -> None:
    added = Batches(rt.connection).add(action, rule, batching, group=group)
    rt.store.annotate(action.id, batch_id=added.batch_id)
    if added.opened:  # RQ's scheduler closes the window; nothing of ours polls
        rt.actions_queue.enqueue_in(timedelta(seconds=batching.window), CLOSE_BATCH_JOB, added.batch_id,
                                    result_ttl=0)
    if added.full:
        notify.batch_ready(rt, added.batch_id)


@signoff_job
def close_batch(batch_id: str) -> bool:
    """The window of a batch has passed: send it, unless reaching its size sent it already."""
    rt = job_runtime()
    closed = Batches(rt.connection).close(batch_id)
    if closed:
        notify.batch_ready(rt, batch_id)
    return closed


def add_paused(rt: Runtime, action: Action) -> None:
    """An action of an agent paused for a burst: its held actions gather in one batch message."""
    add_to_batch(rt, action, PAUSED_RULE, Batching(window=PAUSED_BATCH_WINDOW, max=PAUSED_BATCH_MAX),
                 group=f"agent={action.agent}")


def add_run_call(rt: Runtime, action: Action, calls: int) -> None:
    """One of several tool calls an agent run paused at together: they go to Slack as one batch message."""
    add_to_batch(rt, action, action.rule or "agent-run", Batching(window=RUN_BATCH_WINDOW, max=calls),
                 group=f"run={action.run_id}")
