"""What the listeners share: reading the clicked action, telling one person something privately."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.authz import MembershipCache, refusal, stands_for, via
from bot.views.text import person
from signoff import away, lifecycle
from signoff.errors import ActionNotFound, SignoffError
from signoff.logging import log
from signoff.models import Action, Status
from signoff.runtime import Runtime


def parse_value(value: str) -> tuple[str, int]:
    """A decision button's value: "<action id>:<version shown>"."""
    action_id, _, version = value.partition(":")
    return action_id, int(version or 0)


def tell(client: WebClient, channel: str | None, user: str, text: str) -> None:
    """An ephemeral message: only `user` sees it. Failing to send it must not fail the listener."""
    if not channel:
        return
    try:
        client.chat_postEphemeral(channel=channel, user=user, text=text)
    except SlackApiError as error:
        log.warning("ephemeral_failed", user=user, error=error.response.get("error"))


def already_decided(action: Action) -> str:
    if action.decided_by and action.decided_at:
        return (f"Already {action.status.replace('_', ' ')}: decided by {person(action.decided_by)} "
                f"at {action.decided_at:%Y-%m-%d %H:%M} UTC.")
    return f"This action is {action.status.replace('_', ' ')}; there is nothing to decide."


def decidable(rt: Runtime, members: MembershipCache, client: WebClient, body: dict[str, Any],
              action_id: str) -> Action | None:
    """The action if this user may decide it now; otherwise tells them why not and returns None."""
    user = body["user"]["id"]
    channel = clicked_in = (body.get("channel") or {}).get("id")
    try:
        action = rt.store.get(action_id)
    except ActionNotFound:
        tell(client, channel, user, "This action no longer exists.")
        return None
    channel = channel or action.slack.get("channel")
    _remember_message(rt, action, body)
    if action.status != Status.PENDING_APPROVAL:
        tell(client, channel, user, already_decided(action))
        return None
    why_not = refusal(action, user, members, clicked_in, away.of_approvers(rt, action, besides=user))
    if why_not:
        log.warning("decision_refused", action_id=action.id, slack_user=user, reason=why_not)
        tell(client, channel, user, why_not)
        return None
    return action


class Standing(TypedDict):
    via: str | None
    stands_for: str | None


def standing(rt: Runtime, members: MembershipCache, action: Action, user: str) -> Standing:
    """How an allowed user decides, for `lifecycle.decide`: as a member of one of the rule's groups
    (`via`), or as the delegate of an away approver (`stands_for`); both go into their signed vote."""
    absences = away.of_approvers(rt, action, besides=user)
    return Standing(via=via(action, user, members), stands_for=stands_for(action, user, absences))


def _remember_message(rt: Runtime, action: Action, body: dict[str, Any]) -> None:
    """A click on the action's own message whose post went unrecorded (Redis went away just after it) says
    where the message is: recorded, so the decision updates that message instead of leaving it clickable."""
    container = body.get("container") or {}
    if action.slack.get("ts") or action.batch_id or container.get("type") != "message":
        return
    action.slack = {"channel": container.get("channel_id", ""), "ts": container.get("message_ts", "")}
    rt.store.annotate(action.id, slack=action.slack)


def clicked(rt: Runtime, members: MembershipCache, client: WebClient, body: dict[str, Any]) -> Action | None:
    """The action behind a clicked decision button, if this user may decide it now."""
    action_id, _ = parse_value(body["actions"][0]["value"])
    return decidable(rt, members, client, body, action_id)


def message_ref(body: dict[str, Any]) -> dict[str, str]:
    """Where the clicked message is, for a modal to carry in its private_metadata."""
    container = body.get("container") or {}
    return {"channel": container.get("channel_id", ""), "ts": container.get("message_ts", "")}


NOT_RECORDED = ("Your decision was not recorded: Signoff could not reach its store. Nothing changed and the "
                "buttons still work; try again in a moment.")


def record(client: WebClient, channel: str | None, user: str, step: Callable[[], None]) -> bool:
    """Runs a decision before the listener acknowledges the click (Slack waits up to 3 s for that).

    A refusal (decided meanwhile, not yours to decide) is an answer and is told; a failure to record
    (Redis unreachable) is told as "not recorded, try again". Returns False only for the failure, so a
    modal can stay open with what was typed. Nothing is acknowledged before it is recorded.
    """
    try:
        step()
    except SignoffError as refused:
        tell(client, channel, user, getattr(refused, "for_reviewer", str(refused)))
    except Exception as error:
        log.error("decision_not_recorded", slack_user=user, error=f"{type(error).__name__}: {error}")
        tell(client, channel, user, NOT_RECORDED)
        return False
    return True


def follow_up(rt: Runtime, decided: list[Action]) -> None:
    """After the acknowledgement: queue the run and the message's update of what was just decided.

    Failing here loses nothing: the decision is recorded, the scheduler's sweep releases an approved
    action that has no run job, and the run's outcome updates the message.
    """
    for action in decided:
        try:
            lifecycle.follow_up(rt, action)
        except Exception as error:
            log.error("follow_up_failed", action_id=action.id, error=f"{type(error).__name__}: {error}")
