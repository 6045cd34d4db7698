"""Telling people: what waits for a decision and how runs ended. Slack jobs go on their own queue."""

from __future__ import annotations

from redis.client import Pipeline
from rq import Retry

from signoff import homes
from signoff.models import Action, Status
from signoff.runtime import Runtime

# Slack was down or refused: try again later, while the action waits unchanged.
SLACK_RETRY = Retry(max=5, interval=[5, 30, 120, 300, 900])
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
BATCH_POST_JOB = "bot.jobs.slack.post_batch"
BATCH_UPDATE_JOB = "bot.jobs.slack.update_batch_message"


def _to_slack(rt: Runtime, job: str, subject_id: str, pipe: Pipeline | None = None) -> None:
    if rt.slack_enabled:
        rt.slack_queue.enqueue(job, subject_id, retry=SLACK_RETRY, result_ttl=0, pipeline=pipe)


def _about_message(rt: Runtime, job: str, action: Action, pipe: Pipeline | None = None) -> None:
    """A job about the action's own message: nothing to do for an action not posted on its own."""
    if action.slack.get("ts"):
        _to_slack(rt, job, action.id, pipe)


def pending(rt: Runtime, action: Action) -> None:
    # One id per action: the sweep can tell whether a post is already queued or being retried.
    if rt.slack_enabled:
        rt.slack_queue.enqueue(POST_JOB, action.id, retry=SLACK_RETRY, job_id=post_job_id(action.id), result_ttl=0)
        homes.changed(rt, action)


def decided(rt: Runtime, action: Action, pipe: Pipeline | None = None) -> None:
    homes.changed(rt, action)
    if rt.slack_enabled and action.slack.get("ts") and action.status == Status.APPROVED and action.func:
        # The update will show the run's end if it comes soon, and post its outcome: one job fewer.
        (pipe if pipe is not None else rt.connection).set(outcome_watch_key(action.id), "watching", ex=300)
    _about_message(rt, UPDATE_JOB, action, pipe)


def outcome_watch_key(action_id: str) -> str:
    """Set with the message's update after an approval ("watching") until that update is shown; the
    run's end sets it to "handed", and the outcome goes out with that update: one job, one update."""
    return f"signoff:outcome-watch:{action_id}"


def finished(rt: Runtime, action: Action) -> None:
    if not action.slack.get("ts"):
        return
    if rt.connection.set(outcome_watch_key(action.id), "handed", xx=True, keepttl=True):
        return  # the update job is waiting for exactly this: it shows the outcome
    _about_message(rt, RESULT_JOB, action)


def escalated(rt: Runtime, action: Action) -> None:
    _about_message(rt, ESCALATED_JOB, action)


def reminder(rt: Runtime, action: Action) -> None:
    _about_message(rt, REMINDER_JOB, action)


def batch_ready(rt: Runtime, batch_id: str) -> None:
    _to_slack(rt, BATCH_POST_JOB, batch_id)


def batch_decided(rt: Runtime, batch_id: str) -> None:
    _to_slack(rt, BATCH_UPDATE_JOB, batch_id)
