"""Telling people: what waits for a decision and how runs ended. Slack jobs go on their own queue."""

from __future__ import annotations

from signoff.models import Action
from signoff.runtime import Runtime

POST_JOB = "workers.slack_jobs.post_approval_request"
UPDATE_JOB = "workers.slack_jobs.update_approval_message"
RESULT_JOB = "workers.slack_jobs.post_run_outcome"


def pending(rt: Runtime, action: Action) -> None:
    if rt.slack_enabled:
        rt.slack_queue.enqueue(POST_JOB, action.id)


def decided(rt: Runtime, action: Action) -> None:
    if rt.slack_enabled and action.slack.get("ts"):
        rt.slack_queue.enqueue(UPDATE_JOB, action.id)


def finished(rt: Runtime, action: Action) -> None:
    if rt.slack_enabled and action.slack.get("ts"):
        rt.slack_queue.enqueue(RESULT_JOB, action.id)
