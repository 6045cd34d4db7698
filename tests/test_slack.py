"""Reviewers decide in Slack: the real Bolt app over HTTP, a real worker, the Slack sandbox."""

from __future__ import annotations

import json
import time
import urllib.request

from signoff import Status
from signoff.models import Action, AuditEvent
from signoff.notify import RUN_SETTLE_WAIT
from tests.actions import hang, issue_refund, send_email, update_crm
from tests.helpers import advance, blpop_text, wait_status, wait_worker_idle
from tests.slack_helpers import (
    approval_message,
    ephemeral_to,
    mrkdwn_texts,
    opened_view,
    text_of,
    thread_reply,
    updated_with,
)

ALICE, BOB, CAROL, MALLORY = "U0ALICE", "U0BOB", "U0CAROL", "U0MALLORY"


def _email(**overrides: str):  # type: ignore[no-untyped-def]
    params = {"to": "sarah@acme.com", "subject": "Q3 budget", "body": "Numbers attached", **overrides}
    return send_email.request(agent="finance-bot", reason="Sarah asked for the Q3 numbers", **params)


def test_request_to_approval_click_runs_once_and_updates_the_message(rt, sandbox, bot, slack_worker) -> None:
    ticket = _email()
    message = approval_message(sandbox, ticket.id)
    assert message.channel == "C0APPROVALS"
    assert message.blocks[0] == {"type": "header", "text": {"type": "plain_text", "emoji": False,
                                                            "text": "Send email to sarah@acme.com — Q3 budget"}}
    shown = text_of(message.blocks)
    assert "Sarah asked for the Q3 numbers" in shown and "external-communications" in shown
    assert [e["text"]["text"] for e in message.blocks[-1]["elements"] if e["type"] == "button"] == [
        "Approve", "Edit", "Reject"]
    [menu] = [e for e in message.blocks[-1]["elements"] if e["type"] == "overflow"]  # beside them: allow similar
    assert [o["text"]["text"] for o in menu["options"]] == [
        "Approve and allow similar for 1 day", "Approve and allow similar for 7 days",
        "Approve and allow similar for 30 days"]

    status, _ = sandbox.interactions.click(message, "signoff_approve", ALICE)
    assert status == 200
    outcome = ticket.wait(timeout=20)
    assert (outcome.status, outcome.decided_by) == (Status.SUCCEEDED, f"slack:{ALICE}")
    assert rt.connection.llen("test:sent") == 1

    updated_with(sandbox, message, "Approved* by <@U0ALICE>")
    assert all(b["type"] != "actions" or b.get("block_id") != "signoff_decision" for b in message.blocks)
    assert "Ran successfully" in thread_reply(sandbox, message).text


def test_a_second_click_says_who_already_decided(rt, sandbox, bot, slack_worker) -> None:
    ticket = _email()
    message = approval_message(sandbox, ticket.id)
    sandbox.interactions.click(message, "signoff_approve", ALICE)
    wait_status(rt, ticket.id, Status.SUCCEEDED)
    sandbox.interactions.click(message, "signoff_reject", BOB)
    notice = ephemeral_to(sandbox, BOB, "decided by <@U0ALICE>")
    assert notice.text.startswith("Already succeeded: decided by <@U0ALICE> at ")
    assert rt.connection.llen("test:sent") == 1


def test_edit_shows_errors_beside_the_field_then_a_valid_edit_approves(rt, sandbox, bot, slack_worker) -> None:
    ticket = _email()
    message = approval_message(sandbox, ticket.id)
    sandbox.interactions.click(message, "signoff_edit", ALICE)
    modal = opened_view(sandbox, "signoff_edit_modal")
    kinds = {b["block_id"]: b["element"]["type"] for b in modal.view["blocks"] if b["type"] == "input"}
    assert kinds == {"p:to": "email_text_input", "p:subject": "plain_text_input", "p:body": "plain_text_input"}

    status, body = sandbox.interactions.submit(modal.id, ALICE, {"p:to": "sarah at acme", "p:subject": "Q3",
                                                                 "p:body": "Numbers"})
    assert status == 200
    assert json.loads(body) == {"response_action": "errors", "errors": {"p:to": "is not an email address"}}
    assert rt.store.get(ticket.id).status == Status.PENDING_APPROVAL and not modal.closed

    sandbox.interactions.submit(modal.id, ALICE, {"p:to": "sarah@acme.com", "p:subject": "Q3 budget (final)",
                                                  "p:body": "Numbers attached, v2"})
    outcome = ticket.wait(timeout=20)
    assert outcome.status == Status.SUCCEEDED and modal.closed
    assert outcome.params == {"to": "sarah@acme.com", "subject": "Q3 budget (final)", "body": "Numbers attached, v2"}
    updated_with(sandbox, message, "Edited: subject: `Q3 budget` → `Q3 budget (final)`")


def test_reject_with_a_reason_cancels_and_tells_the_agent(rt, sandbox, bot, slack_worker) -> None:
    ticket = issue_refund.request(customer_id="cus_1", amount=900, agent="support-bot", reason="angry customer")
    message = approval_message(sandbox, ticket.id)
    reject = next(e for e in message.blocks[-1]["elements"] if e["action_id"] == "signoff_reject")
    assert reject["style"] == "danger" and reject["confirm"]["confirm"]["text"] == "Reject"
    sandbox.interactions.click(message, "signoff_reject", BOB)
    modal = opened_view(sandbox, "signoff_reject_modal")
    sandbox.interactions.submit(modal.id, BOB, {"reason": "Over the 500 USD limit <!channel>"})
    outcome = ticket.wait(timeout=20)
    assert (outcome.status, outcome.note, outcome.decided_by) == (
        Status.REJECTED, "Over the 500 USD limit <!channel>", f"slack:{BOB}")
    updated_with(sandbox, message, "Rejected* by <@U0BOB>")
    assert "&lt;!channel&gt;" in text_of(message.blocks) and "<!channel>" not in mrkdwn_texts(message.blocks)


def test_only_the_rules_approvers_may_decide(rt, workers, slack_env, policy_file, sandbox, bot) -> None:
    workers.start(extra_env=slack_env, policy=policy_file(
        "rules:\n  - name: finance-only\n    mode: approve\n    approvers: {users: [U0ALICE], groups: [S0FINANCE]}\n"
        "    channel: '#approvals'\n"))
    ticket = issue_refund.request(customer_id="cus_1", amount=900, agent="support-bot", reason="r")
    message = approval_message(sandbox, ticket.id)
    sandbox.interactions.click(message, "signoff_approve", MALLORY)
    notice = ephemeral_to(sandbox, MALLORY, "can't decide")
    assert notice.text == ("You can't decide this action: rule *finance-only* lets only <@U0ALICE>, "
                           "<!subteam^S0FINANCE> decide it.")
    sandbox.interactions.click(message, "signoff_edit", MALLORY)
    ephemeral_to(sandbox, MALLORY, "can't decide")
    assert rt.store.get(ticket.id).status == Status.PENDING_APPROVAL
    assert not sandbox.calls_to("views.open")
    sandbox.interactions.click(message, "signoff_approve", BOB)  # in the finance group
    assert ticket.wait(timeout=20).decided_by == f"slack:{BOB}"


def test_the_agents_owner_cannot_approve_their_own_action(rt, sandbox, bot, slack_worker) -> None:
    from signoff import Signoff

    signoff = Signoff(connection=rt.connection)
    from pydantic import BaseModel

    class Payout(BaseModel):
        amount: float

    signoff.declare("payout", params=Payout, category="financial", owner=CAROL)
    ticket = signoff.submit("payout", {"amount": 50}, agent="payout-bot", reason="monthly")
    message = approval_message(sandbox, ticket.id)
    sandbox.interactions.click(message, "signoff_approve", CAROL)
    assert ephemeral_to(sandbox, CAROL, "You own the agent").text.startswith("You own the agent that asked")
    assert rt.store.get(ticket.id).status == Status.PENDING_APPROVAL


def test_forged_and_stale_requests_change_nothing(rt, sandbox, bot, slack_worker) -> None:
    ticket = _email()
    message = approval_message(sandbox, ticket.id)
    forged = sandbox.interactions.click(message, "signoff_approve", ALICE, headers={
        "X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64})
    stale = sandbox.interactions.click(message, "signoff_approve", ALICE, signed_at=int(time.time()) - 6 * 60)
    assert (forged[0], stale[0]) == (401, 401)
    assert rt.store.get(ticket.id).status == Status.PENDING_APPROVAL
    assert rt.connection.llen("test:sent") == 0
    sandbox.interactions.click(message, "signoff_approve", ALICE)  # the genuine click still works
    assert ticket.wait(timeout=20).status == Status.SUCCEEDED


def test_a_429_storm_is_retried_after_retry_after_and_posts_once(rt, sandbox, bot, slack_worker) -> None:
    sandbox.rate_limit("chat.postMessage", times=3, retry_after=0)
    ticket = _email()
    approval_message(sandbox, ticket.id)
    calls = sandbox.calls_to("chat.postMessage")
    assert [c.status for c in calls] == [429, 429, 429, 200]
    assert len([m for m in sandbox.workspace.messages if not m.ephemeral_to]) == 1


def test_slack_rate_limiting_an_approval_request_holds_up_no_other_action(rt, sandbox, bot, slack_worker) -> None:
    sandbox.rate_limit("chat.postMessage", times=3, retry_after=20)
    held = _email()
    sandbox.wait_for(lambda: sandbox.calls_to("chat.postMessage", ok=False))
    # Slack says "not for 20 seconds": the routing job does not wait for it, the queued post does.
    ran = update_crm.request(record_id="r9", field="stage", value="won", agent="crm-bot", reason="deal closed")
    assert ran.wait(timeout=10).status == Status.SUCCEEDED
    assert rt.store.get(held.id).status == Status.PENDING_APPROVAL


def test_a_slack_error_leaves_the_action_pending_and_is_retried(rt, sandbox, bot, workers, slack_env) -> None:
    worker = workers.start(extra_env=slack_env)
    sandbox.fail("chat.postMessage", "internal_error")
    ticket = _email()
    sandbox.wait_for(lambda: sandbox.calls_to("chat.postMessage", ok=False))
    assert rt.store.get(ticket.id).status == Status.PENDING_APPROVAL
    message = approval_message(sandbox, ticket.id)  # RQ's retry posts it a few seconds later
    assert message.channel == "C0APPROVALS"
    assert worker.poll() is None


def test_hostile_parameters_are_escaped_and_cut_to_slacks_limits(rt, sandbox, bot, slack_worker) -> None:
    hostile = "<!channel> <@U0BOB> <https://evil.example|click me> &amp; " + "A" * 20000
    ticket = _email(subject="*urgent* <!here>" + "x" * 500, body=hostile)
    message = approval_message(sandbox, ticket.id)  # the sandbox refuses blocks over Slack's limits
    rendered = mrkdwn_texts(message.blocks)  # plain_text is never parsed for mentions, links or markup
    for forged in ("<!channel>", "<@U0BOB>", "<https://evil.example", "<!here>", "*urgent*"):
        assert forged not in rendered
    shown = [f["text"] for b in message.blocks for f in b.get("fields", []) if f["type"] == "plain_text"]
    assert any(t.startswith("Body\n<!channel> <@U0BOB> <https://evil.example|click me> &amp; AAA") for t in shown)
    assert message.blocks[0]["text"] == {"type": "plain_text", "emoji": False,
                                         "text": message.blocks[0]["text"]["text"]}
    sandbox.interactions.click(message, "signoff_show_full_2", ALICE)
    full = opened_view(sandbox, "signoff_full_value")
    assert "A" * 500 in text_of(full.view["blocks"])


def test_slash_command_lists_what_waits_for_you_and_shows_one(rt, sandbox, bot, slack_worker) -> None:
    ticket = _email()
    approval_message(sandbox, ticket.id)
    status, body = sandbox.interactions.command("pending", ALICE)
    assert status == 200 and "1 action waits for your decision" in body and ticket.id in body
    assert sandbox.interactions.command("pending", MALLORY)[1]  # Mallory is in the channel: she may decide too
    shown = json.loads(sandbox.interactions.command(f"show {ticket.id}", ALICE)[1])
    assert shown["text"] == "Send email to sarah@acme.com — Q3 budget"
    assert "Waiting for a decision in <#C0APPROVALS>" in text_of(shown["blocks"])
    assert "no action" in sandbox.interactions.command("show nope", ALICE)[1].lower()


def test_an_approved_action_that_runs_at_once_takes_three_slack_calls(rt, sandbox, bot, slack_worker) -> None:
    before = len(sandbox.calls)
    ticket = _email()
    message = approval_message(sandbox, ticket.id)
    sandbox.interactions.click(message, "signoff_approve", ALICE)
    thread_reply(sandbox, message)
    wait_status(rt, ticket.id, Status.SUCCEEDED)
    wait_worker_idle(rt, slack_worker.pid)
    # The post, one update showing the approval and the outcome, one thread reply: nothing more.
    chat = sorted(c.method for c in sandbox.calls[before:] if c.method.startswith("chat."))
    assert chat == ["chat.postMessage", "chat.postMessage", "chat.update"]
    assert ":white_check_mark: ran" in text_of(message.blocks)  # that one update shows how it ended


def test_a_quick_run_posts_from_its_own_jobs_and_leaves_no_slack_job_behind(rt, sandbox, bot, slack_worker) -> None:
    ticket = _email()
    message = approval_message(sandbox, ticket.id)
    # The routing job posted it itself: no job of its own was queued, none is left to retry it.
    assert not rt.slack_queue.scheduled_job_registry.get_job_ids() and rt.slack_queue.count == 0
    sandbox.interactions.click(message, "signoff_approve", ALICE)
    thread_reply(sandbox, message)
    wait_worker_idle(rt, slack_worker.pid)
    # The update planned for a run still going after the approval was called off when it ended.
    assert not rt.slack_queue.scheduled_job_registry.get_job_ids()
    assert [k for k in rt.connection.scan_iter(match=f"rq:*{ticket.id}*")] == []


def test_a_run_still_going_shows_the_decision_meanwhile_then_its_outcome(rt, workers, slack_env, policy_file,
                                                                          sandbox, bot) -> None:
    policy = policy_file("rules:\n  - name: ops\n    match: {type: hang}\n    mode: approve\n")
    for _ in range(2):  # one runs the action; the other is free to update its message meanwhile
        workers.start(extra_env=slack_env, policy=policy)
    ticket = hang.request(tag="slow", agent="ops-bot", reason="restart the cluster")
    message = approval_message(sandbox, ticket.id)
    sandbox.interactions.click(message, "signoff_approve", ALICE)
    blpop_text(rt, "test:started:slow")
    assert advance(rt, RUN_SETTLE_WAIT + 1) == 1  # the update planned at the approval comes due
    updated_with(sandbox, message, "running")
    assert not [m for m in sandbox.workspace.messages if m.thread_ts == message.ts]  # no outcome yet
    rt.connection.rpush("test:release:slow", "go")
    assert thread_reply(sandbox, message).text.startswith(":white_check_mark: Ran successfully")
    updated_with(sandbox, message, ":white_check_mark: ran")


def test_slash_command_counts_everything_that_waits_for_you(rt, sandbox, bot) -> None:
    # 250 waiting actions Alice may decide, more than one page of the command's reading.
    for n in range(250):
        action = Action(type="send_email", agent="finance-bot", reason="r", params={"to": f"c{n}@client.com"},
                        status=Status.PENDING_APPROVAL, approvers={"users": [ALICE], "groups": []})
        rt.store.create(action, AuditEvent(action_id=action.id, step="held", actor="test"))
    status, body = sandbox.interactions.command("pending", ALICE)
    assert status == 200 and "250 actions wait for your decision" in body
    assert "Nothing waits for your decision" in sandbox.interactions.command("pending", BOB)[1]


def test_health_check_reports_redis(sandbox, bot) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{sandbox.bot_port}/healthz", timeout=5) as response:
        assert json.loads(response.read()) == {"ok": True, "redis": True}


def test_plain_text_replies_to_slash_commands_are_shown(rt, sandbox, bot) -> None:
    sandbox.interactions.command("show nope", ALICE)
    assert "No action with id" in ephemeral_to(sandbox, ALICE, "No action with id").text
    sandbox.interactions.command("help", ALICE)
    ephemeral_to(sandbox, ALICE, "/signoff pending")
