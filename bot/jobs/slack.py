"""RQ jobs that talk to Slack: post the approval message, update it, reply with the run's outcome.

They run on their own queue. A Slack error is logged with the action's id and the job is retried
by RQ later; the action itself stays as it is, so nothing is lost because Slack was slow.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable
from contextvars import ContextVar
from functools import cache
from typing import Any, TypeVar, cast

import redis
import structlog
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.client import web_client
from bot.views.approval import approval_blocks, fallback_text, mentions, run_outcome_text
from bot.views.batch import batch_blocks
from bot.views.batch import fallback as batch_fallback
from bot.views.text import when
from signoff import away, metrics
from signoff.batches import Batches
from signoff.job_runtime import job_runtime
from signoff.jobs import signoff_job
from signoff.models import Action, Status
from signoff.notify import backoff
from signoff.runtime import Runtime

log = structlog.get_logger("signoff.slack")
MARKER = "signoff_approval"  # the message metadata that names the action a message asks about
T = TypeVar("T")


# Set while another job (routing, run) does a Slack job's work on the spot, handing it the action:
# Slack then gets one brief try, so that routing never waits out a Retry-After or a hung
# connection; whatever fails is queued as the job itself, which waits patiently (signoff.notify).
_on_the_spot: ContextVar[bool] = ContextVar("slack_on_the_spot", default=False)

F = TypeVar("F", bound=Callable[..., Any])


def _brief_when_handed(func: F) -> F:
    @functools.wraps(func)
    def call(action_id: str, current: Action | None = None) -> Any:
        spot = _on_the_spot.set(current is not None)
        try:
            return func(action_id, current)
        finally:
            _on_the_spot.reset(spot)
    return cast(F, call)


@cache
def _web_client(patient: bool) -> WebClient:
    return web_client(job_runtime().settings, patient=patient)


def _client() -> WebClient:
    return _web_client(not _on_the_spot.get())


def _destination(action: Action, client: WebClient, default_channel: str, absences: away.Absences) -> str:
    if action.channel:
        return action.channel
    # Nobody away is in the conversation: their delegates are. With everyone away, the channel says so.
    users = absences.asked(away.named_approvers(action), away.delegation_allowed(action))
    escalates = bool(action.waiting and action.waiting.chain)  # later levels must see the same message
    if users and not escalates:  # a rule that names people and no channel asks them in a direct message
        return str(client.conversations_open(users=",".join(users))["channel"]["id"])
    return default_channel


def _slack_call(action_id: str, what: str, call: Callable[[], T]) -> T:
    try:
        return call()
    except SlackApiError as error:
        log.error("slack_call_failed", action_id=action_id, call=what, error=error.response.get("error"),
                  status=error.response.status_code)
        _counted(what)
        raise  # RQ retries the job later (see signoff.notify)
    except OSError:  # Slack unreachable: the same retry, the same count for operators
        _counted(what)
        raise


def _counted(what: str) -> None:
    with contextlib.suppress(redis.RedisError):  # a figure lost is no reason to lose the retry
        metrics.count(job_runtime().connection, f"slack_failed:{what}")


# "#approvals" -> "C0123": history is read by ID only. Filled when a retry first needs it, not by
# every post: a write per approval request for the rare retry.
CHANNEL_IDS = "signoff:slack:channel_ids"


def _channel_id(rt: Runtime, client: WebClient, channel: str) -> str:
    if not channel.startswith("#"):
        return channel
    known = cast(bytes | None, rt.connection.hget(CHANNEL_IDS, channel))
    if known:
        return known.decode()
    for page in client.conversations_list(types="public_channel,private_channel", exclude_archived=True, limit=1000):
        for found in page.get("channels") or []:
            rt.connection.hset(CHANNEL_IDS, f"#{found['name']}", found["id"])
            if f"#{found['name']}" == channel:
                return str(found["id"])
    return channel


def _already_posted(rt: Runtime, client: WebClient, channel: str, action: Action) -> dict[str, str] | None:
    """The approval message an earlier attempt posted although its reply was lost, found by its marker."""
    channel = _channel_id(rt, client, channel)
    history = client.conversations_history(channel=channel, oldest=f"{action.created_at.timestamp() - 60:.6f}",
                                           include_all_metadata=True, limit=200)
    for message in history.get("messages") or []:
        marker = message.get("metadata") or {}
        if marker.get("event_type") == MARKER and (marker.get("event_payload") or {}).get("action_id") == action.id:
            return {"channel": channel, "ts": str(message["ts"])}
    return None


@signoff_job
@_brief_when_handed
def post_approval_request(action_id: str, current: Action | None = None) -> str | None:
    """`current`: the action as the job that routed it has it, when that job posts it itself."""
    rt = job_runtime()
    action = current if current is not None else rt.store.get(action_id)
    if action.status != Status.PENDING_APPROVAL or action.slack.get("ts"):
        return None  # decided before it reached Slack, or already posted
    client = _client()
    absences = away.of_approvers(rt, action)
    channel = _slack_call(action_id, "conversations.open",
                          lambda: _destination(action, client, rt.settings.approval_channel, absences))
    attempts = int(action.slack.get("attempts", "0")) + 1
    # Counted before the call: whatever happens next, the sweep knows this action has not reached Slack.
    rt.store.annotate(action_id, slack={"attempts": str(attempts), "next_at": f"{time.time() + backoff(attempts):.0f}"})
    posted = _slack_call(action_id, "conversations.history",
                         lambda: _already_posted(rt, client, channel, action)) if attempts > 1 else None
    if posted is None:
        reply = _slack_call(action_id, "chat.postMessage", lambda: client.chat_postMessage(
            channel=channel, text=fallback_text(action), blocks=approval_blocks(action, absences), unfurl_links=False,
            unfurl_media=False, metadata={"event_type": MARKER, "event_payload": {"action_id": action_id}}))
        posted = {"channel": str(reply["channel"]), "ts": str(reply["ts"])}
    status = rt.store.annotate(action_id, slack=posted, in_slack=True)
    log.info("approval_posted", action_id=action_id, channel=posted["channel"], ts=posted["ts"])
    # A decision that came (from the CLI, say) before the ts was saved found no message to update.
    if status != Status.PENDING_APPROVAL:
        update_approval_message(action_id)
    return str(posted["ts"])


@signoff_job
def update_approval_message(action_id: str) -> None:
    """The message shows where the action stands. After an approval with a run to come, this runs only
    if the run is still going RUN_SETTLE_WAIT later (see signoff.notify.decided)."""
    rt = job_runtime()
    action = rt.store.get(action_id)
    if action.slack.get("ts"):
        _show(action)


def _show(action: Action) -> None:
    client = _client()
    pending = action.status == Status.PENDING_APPROVAL
    absences = away.of_approvers(job_runtime(), action) if pending else None
    _slack_call(action.id, "chat.update", lambda: client.chat_update(
        channel=action.slack["channel"], ts=action.slack["ts"], text=fallback_text(action),
        blocks=approval_blocks(action, absences)))


@signoff_job
@_brief_when_handed
def post_run_outcome(action_id: str, current: Action | None = None) -> None:
    """The message shows the decision and how the run ended, and a thread reply says it. `current`:
    the action as the job that ran it has it, when that job sends this itself."""
    action = current if current is not None else job_runtime().store.get(action_id)
    if action.slack.get("ts"):
        _show(action)
    _thread_reply(action, run_outcome_text(action))


@signoff_job
def post_batch(batch_id: str) -> str | None:
    rt = job_runtime()
    batches = Batches(rt.connection)
    batch = batches.get(batch_id)
    actions = [rt.store.get(i) for i in batch.items]
    if batch.slack.get("ts") or not any(a.status == Status.PENDING_APPROVAL for a in actions):
        return None  # already posted, or every item was decided on its own meanwhile
    client = _client()
    channel = _slack_call(batch_id, "conversations.open",
                          lambda: _destination(actions[0], client, rt.settings.approval_channel,
                                               away.of_approvers(rt, actions[0])))
    posted = _slack_call(batch_id, "chat.postMessage", lambda: client.chat_postMessage(
        channel=channel, text=batch_fallback(batch, actions), blocks=batch_blocks(batch, actions)))
    batches.set_slack(batch_id, posted["channel"], posted["ts"])
    for action in actions:  # who may decide an item: the members of the channel the batch is in
        rt.store.annotate(action.id, slack={"channel": posted["channel"]}, in_slack=True)
    return str(posted["ts"])


@signoff_job
def update_batch_message(batch_id: str) -> None:
    rt = job_runtime()
    batch = Batches(rt.connection).get(batch_id)
    if not batch.slack.get("ts"):
        return
    actions = [rt.store.get(i) for i in batch.items]
    client = _client()
    _slack_call(batch_id, "chat.update", lambda: client.chat_update(
        channel=batch.slack["channel"], ts=batch.slack["ts"], text=batch_fallback(batch, actions),
        blocks=batch_blocks(batch, actions)))


def _thread_reply(action: Action, text: str) -> None:
    """A reply under the action's message, for whoever follows it (outcome, escalation, reminder)."""
    if not action.slack.get("ts"):
        return
    client = _client()
    _slack_call(action.id, "chat.postMessage", lambda: client.chat_postMessage(
        channel=action.slack["channel"], thread_ts=action.slack["ts"], text=text))


@signoff_job
def post_escalation(action_id: str) -> None:
    update_approval_message(action_id)
    rt = job_runtime()
    action = rt.store.get(action_id)
    waiting = action.waiting
    assert waiting is not None
    level = waiting.chain[waiting.level]
    asked = mentions({"users": level.users, "groups": level.groups}, away.of_approvers(rt, action),
                     waiting.delegation)
    because = waiting.escalated_because or f"Level {waiting.level} did not answer in time"
    _thread_reply(action, f":arrow_up: {because}: now asking {asked or 'nobody available (everyone is away)'}.")


@signoff_job
def post_expiry_warning(action_id: str) -> None:
    rt = job_runtime()
    action = rt.store.get(action_id)
    waiting = action.waiting
    if waiting is None or action.status != Status.PENDING_APPROVAL:
        return
    asked = mentions(action.approvers, away.of_approvers(rt, action), waiting.delegation) or "Reviewers"
    left = waiting.max_extensions - waiting.extensions if waiting.extend_by and not waiting.chain else 0
    extend = f" *Extend* gives it {(waiting.extend_by or 0) / 3600:g}h more ({left} left)." if left > 0 else ""
    _thread_reply(action, f":hourglass_flowing_sand: {asked}: this expires {when(waiting.deadline_at)} unless someone "
                          f"decides.{extend}")


@signoff_job
def post_reminder(action_id: str) -> None:
    rt = job_runtime()
    action = rt.store.get(action_id)
    if action.waiting is None:
        return
    asked = mentions(action.approvers, away.of_approvers(rt, action), action.waiting.delegation) or "Reviewers"
    _thread_reply(action, f":bell: Reminder: {asked}, this still waits for a decision. "
                          f"It expires {when(action.waiting.deadline_at)}.")
