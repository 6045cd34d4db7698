"""Telling people: what waits for a decision and how runs ended. Slack jobs go on their own queue.

Two of them are done on the spot by the worker whose job asks for them, rather than queued as jobs
of their own (each RQ job costs some 40 Redis commands of bookkeeping): the approval request, by the
job that routed the action, and the run's outcome, by the job that ran it. Whatever goes wrong
there (Slack down, slow, refusing) queues the same job instead, which RQ retries; the action itself
is already recorded, so nothing waits on Slack.
"""

from __future__ import annotations

from datetime import timedelta

from redis.client import Pipeline
from rq import Retry

from signoff import away, homes, jobs
from signoff.logging import log
from signoff.models import Action, Status
from signoff.runtime import Runtime

# Slack was down or refused: try again later, while the action waits unchanged.
SLACK_RETRY_INTERVALS = [5, 30, 120, 300, 900]
SLACK_RETRY = Retry(max=5, interval=SLACK_RETRY_INTERVALS)
# After a first try made on the spot, the queued job keeps the same timetable: its next try comes
# the first interval later, and its own retries are the rest.
_AFTER_FIRST_TRY = Retry(max=len(SLACK_RETRY_INTERVALS) - 1, interval=SLACK_RETRY_INTERVALS[1:])
# Past those retries the scheduler's sweep posts it again, after this long, for as long as it waits.
REPOST_CAP = 1800.0


def backoff(attempts: int) -> float:
    """Seconds before the sweep tries an approval request again after `attempts` tries: capped."""
    return float(min(60 * 2 ** max(attempts - 1, 0), REPOST_CAP))


def post_job_id(action_id: str) -> str:
    return f"signoff-post-{action_id}"

POST_JOB = "bot.jobs.slack.post_approval_request"
UPDATE_JOB = "bot.jobs.slack.update_approval_message"
RESULT_JOB = "bot.jobs.slack.post_run_outcome"
ESCALATED_JOB = "bot.jobs.slack.post_escalation"
REMINDER_JOB = "bot.jobs.slack.post_reminder"
WARNING_JOB = "bot.jobs.slack.post_expiry_warning"
BATCH_POST_JOB = "bot.jobs.slack.post_batch"
BATCH_UPDATE_JOB = "bot.jobs.slack.update_batch_message"


#: After an approval, how long the message waits for the run to end, so that one update shows both
#: the decision and the outcome; a run still going by then gets the decision shown on its own.
RUN_SETTLE_WAIT = 2.0


def update_job_id(action: Action) -> str:
    return f"signoff-update-{action.id}-v{action.version}"


def _to_slack(rt: Runtime, job: str, subject_id: str, pipe: Pipeline | None = None, *,
              current: Action | None = None, job_id: str | None = None) -> None:
    """`current`: the action as the calling job has it, handed to the job's function to do its work
    right here if it can."""
    if not rt.slack_enabled:
        return
    func = jobs.callable_here(job) if current is not None and pipe is None else None
    if func is not None:
        try:
            func(subject_id, current=current)
            return
        except Exception as error:  # whatever it was, the queued job retries it
            log.warning("slack_queued_for_retry", job=job.rsplit(".", 1)[-1], subject=subject_id,
                        error=type(error).__name__, retry_in=SLACK_RETRY_INTERVALS[0])
            rt.slack_queue.enqueue_in(timedelta(seconds=SLACK_RETRY_INTERVALS[0]), job, subject_id,
                                      retry=_AFTER_FIRST_TRY, result_ttl=0, job_id=job_id)
            return
    rt.slack_queue.enqueue(job, subject_id, retry=SLACK_RETRY, result_ttl=0, pipeline=pipe, job_id=job_id)


def _about_message(rt: Runtime, job: str, action: Action, pipe: Pipeline | None = None) -> None:
    """A job about the action's own message: nothing to do for an action not posted on its own."""
    if action.slack.get("ts"):
        _to_slack(rt, job, action.id, pipe)


def pending(rt: Runtime, action: Action, *, here: bool = False) -> None:
    """`here`: posted by the calling job itself when it can (see the module's docstring)."""
    # One id per action: the sweep can tell whether a post is already queued or being retried.
    if rt.slack_enabled:
        homes.changed(rt, action)
        _to_slack(rt, POST_JOB, action.id, current=action if here else None, job_id=post_job_id(action.id))


def decided(rt: Runtime, action: Action, pipe: Pipeline | None = None) -> None:
    homes.changed(rt, action)
    if rt.slack_enabled and action.slack.get("ts") and action.status == Status.APPROVED and action.func:
        # The run's end shows the decision with the outcome (`finished`). Only a run still going after
        # RUN_SETTLE_WAIT gets this update, which shows the decision meanwhile; the run's end calls it off.
        rt.slack_queue.enqueue_in(timedelta(seconds=RUN_SETTLE_WAIT), UPDATE_JOB, action.id,
                                  job_id=update_job_id(action), retry=SLACK_RETRY, result_ttl=0, pipeline=pipe)
        return
    _about_message(rt, UPDATE_JOB, action, pipe)


# Calls off the update scheduled at the approval, unless the scheduler has already let it go.
_CALL_OFF = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then redis.call('DEL', KEYS[2]) end
"""


def finished(rt: Runtime, action: Action, *, here: bool = False, elsewhere: bool = False) -> None:
    """A run ended: the message shows the decision and the outcome, and a thread reply says it.
    `elsewhere`: it ran in a process with no Slack of its own (the gate, the hook, an agent), so the
    update is queued for a worker that has it."""
    if not action.slack.get("ts"):
        return
    if elsewhere and not rt.slack_enabled:
        rt.slack_queue.enqueue(RESULT_JOB, action.id, retry=SLACK_RETRY, result_ttl=0)
    elif rt.slack_enabled:
        _to_slack(rt, RESULT_JOB, action.id, current=action if here else None)
    else:
        return
    # Only now: a crash before this leaves the scheduled update to show where the action stands.
    update_id = update_job_id(action)
    rt.connection.register_script(_CALL_OFF)(
        keys=[rt.slack_queue.scheduled_job_registry.key, rt.slack_queue.job_class.key_for(update_id)], args=[update_id])


def escalated(rt: Runtime, action: Action) -> None:
    _about_message(rt, ESCALATED_JOB, action)


def reminder(rt: Runtime, action: Action) -> None:
    _about_message(rt, REMINDER_JOB, action)


def warning(rt: Runtime, action: Action) -> None:
    _about_message(rt, WARNING_JOB, action)


def updated(rt: Runtime, action: Action) -> None:
    """The message shows what changed while it waits (a new deadline)."""
    homes.changed(rt, action)
    _about_message(rt, UPDATE_JOB, action)


#: Waiting actions looked at when someone's absence changes, newest first (as the Home tab looks).
ABSENCE_SCAN = 5000


def absence_changed(rt: Runtime, *users: str | None) -> int:
    """Someone set themselves away or came back: the waiting messages that name them say so now, and the
    Home tabs of those concerned (them, their delegates) are refreshed. Returns how many messages."""
    named = {u for u in users if u}
    if not rt.slack_enabled or not named:
        return 0
    homes.refresh(rt, sorted(named))
    updated = 0
    for action in rt.store.newest(Status.PENDING_APPROVAL, limit=ABSENCE_SCAN):
        if named & set(away.named_approvers(action)) and action.slack.get("ts"):
            _about_message(rt, UPDATE_JOB, action)
            updated += 1
    return updated


def batch_ready(rt: Runtime, batch_id: str) -> None:
    _to_slack(rt, BATCH_POST_JOB, batch_id)


def batch_decided(rt: Runtime, batch_id: str) -> None:
    _to_slack(rt, BATCH_UPDATE_JOB, batch_id)
