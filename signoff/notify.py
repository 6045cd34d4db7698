"""Telling people: what waits for a decision and how runs ended. Slack jobs go on their own queue."""

from __future__ import annotations

from rq import Retry

from signoff.models import Action
from signoff.runtime import Runtime

# Slack was down or refused: try again later, while the action waits unchanged.
SLACK_RETRY = Retry(max=5, interval=[5, 30, 120, 300, 900])

POST_JOB = "workers.slack_jobs.post_approval_request"
UPDATE_JOB = "workers.slack_jobs.update_approval_message"
RESULT_JOB = "workers.slack_jobs.post_run_outcome"
ESCALATED_JOB = "workers.slack_jobs.post_escalation"
REMINDER_JOB = "workers.slack_jobs.post_reminder"
BATCH_POST_JOB = "workers.slack_jobs.post_batch"
BATCH_UPDATE_JOB = "workers.slack_jobs.update_batch_message"


def pending(rt: Runtime, action: Action) -> None:
    if rt.slack_enabled:
        rt.slack_queue.enqueue(POST_JOB, action.id, retry=SLACK_RETRY)


def decided(rt: Runtime, action: Action) -> None:
    if rt.slack_enabled and action.slack.get("ts"):
        rt.slack_queue.enqueue(UPDATE_JOB, action.id, retry=SLACK_RETRY)


def finished(rt: Runtime, action: Action) -> None:
    if rt.slack_enabled and action.slack.get("ts"):
        rt.slack_queue.enqueue(RESULT_JOB, action.id, retry=SLACK_RETRY)


def batch_ready(rt: Runtime, batch_id: str) -> None:
    if rt.slack_enabled:
        rt.slack_queue.enqueue(BATCH_POST_JOB, batch_id, retry=SLACK_RETRY)


def batch_decided(rt: Runtime, batch_id: str) -> None:
    if rt.slack_enabled:
        rt.slack_queue.enqueue(BATCH_UPDATE_JOB, batch_id, retry=SLACK_RETRY)


def escalated(rt: Runtime, action: Action) -> None:
    if rt.slack_enabled and action.slack.get("ts"):
        rt.slack_queue.enqueue(ESCALATED_JOB, action.id, retry=SLACK_RETRY)


def reminder(rt: Runtime, action: Action) -> None:
    if rt.slack_enabled and action.slack.get("ts"):
        rt.slack_queue.enqueue(REMINDER_JOB, action.id, retry=SLACK_RETRY)
