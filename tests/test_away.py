"""Reviewers who are away: their delegate is asked and decides for them with their checks ("by @bob for
@alice (away)" in the audit log and on the message), or, with none, the rule's other approvers; a level
where everyone is away escalates at once; nobody away is pinged; `delegation: false` keeps a rule to its
own approvers; and none of it can be written into Redis by someone without the key. Real worker, web
process and sandbox; time is driven, never slept."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from signoff import Signoff, Status, away
from signoff.keys import action_key
from tests.actions import send_email
from tests.conftest import ROOT
from tests.helpers import advance, wait_status
from tests.slack_helpers import approval_message, ephemeral_to, home_blocks, opened_view, text_of, updated_with

BACK_ON = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
UNTIL = f"{BACK_ON} 00:00 UTC"  # Slack shows it in the reader's own time zone; this is the fallback text


def _policy(approvers: str, extra: str = "") -> str:
    return ("rules:\n  - name: outbound\n    match: {type: send_email}\n    mode: approve\n"
            f"    approvers: {{users: [{approvers}]}}\n{extra}  - name: rest\n    mode: auto\n")


def _email(rt: Any, to: str = "sarah@client.com") -> Any:
    ticket = send_email.request(to=to, subject="Renewal", body="Terms attached", agent="sales-bot",
                                reason="Sarah asked for the terms")
    wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    return ticket


def _said(sandbox: Any, user: str, text: str) -> str:
    status, reply = sandbox.interactions.command(text, user)
    assert status == 200
    return reply


def _audit(rt: Any, action_id: str | None = None) -> list[Any]:
    return list(Signoff(connection=rt.connection).audit(action_id=action_id))


def test_an_away_reviewers_delegate_is_asked_and_decides_for_them(
        rt, workers, slack_env, policy_file, sandbox, bot) -> None:
    workers.start(extra_env=slack_env, policy=policy_file(_policy("U0ALICE")))
    reply = _said(sandbox, "U0ALICE", f"away until {BACK_ON} delegate @bob")  # as typed: Slack escapes the mention
    assert "You're away until" in reply and UNTIL in reply and "<@U0BOB> decides for you" in reply
    assert [e.step for e in _audit(rt)][-1] == "away_set"  # who set whose absence, in the audit log

    ticket = _email(rt)
    message = approval_message(sandbox, ticket.id)
    shown = text_of(message.blocks)
    assert "<@U0ALICE> is away until" in shown and UNTIL in shown and "<@U0BOB> decides for them" in shown
    members = sandbox.workspace.channels[message.channel].members
    assert "U0BOB" in members and "U0ALICE" not in members  # asked in a DM with the delegate, not with her

    sandbox.interactions.click(message, "signoff_approve", "U0BOB")
    outcome = ticket.wait(timeout=20)
    assert (outcome.status, outcome.decided_by, outcome.decided_for) == (Status.SUCCEEDED, "slack:U0BOB", "U0ALICE")
    assert "Approved* by <@U0BOB> for <@U0ALICE> (away)" in text_of(updated_with(sandbox, message, "ran").blocks)
    approved = next(e for e in _audit(rt, ticket.id) if e.step == "approved")
    assert (approved.actor, approved.on_behalf_of) == ("slack:U0BOB", "U0ALICE")

    assert "Welcome back" in _said(sandbox, "U0ALICE", "back")
    later = _email(rt, "tom@client.com")
    message = approval_message(sandbox, later.id)
    assert "U0ALICE" in sandbox.workspace.channels[message.channel].members  # she is asked again
    assert "Nothing waits for your decision" in _said(sandbox, "U0BOB", "pending")  # and he no longer decides


def test_a_waiting_message_says_so_when_its_approver_goes_away_and_comes_back(
        rt, workers, slack_env, policy_file, sandbox, bot) -> None:
    workers.start(extra_env=slack_env, policy=policy_file(_policy("U0ALICE", "    channel: '#approvals'\n")))
    ticket = _email(rt)
    message = approval_message(sandbox, ticket.id)
    assert "is away" not in text_of(message.blocks)
    _said(sandbox, "U0ALICE", f"away until {BACK_ON} delegate @bob")
    updated_with(sandbox, message, "<@U0BOB> decides for them")
    cli = _cli("away", "back", "U0ALICE", env=slack_env)  # an operator ends it: the message follows too
    assert cli.returncode == 0, cli.stderr
    sandbox.wait_for(lambda: "is away" not in text_of(message.blocks))
    assert rt.store.get(ticket.id).status == Status.PENDING_APPROVAL


def test_a_delegate_has_the_checks_of_the_person_they_stand_in_for(
        rt, workers, slack_env, policy_file, sandbox, bot) -> None:
    # Quorum counts people, not roles: Carol, an approver and Alice's delegate, is one yes of the two needed.
    workers.start(extra_env=slack_env, policy=policy_file(_policy("U0ALICE, U0CAROL", "    approvals: 2\n"
                                                                   "    channel: '#approvals'\n")))
    _said(sandbox, "U0ALICE", f"away until {BACK_ON} delegate @carol")
    ticket = _email(rt)
    message = approval_message(sandbox, ticket.id)
    assert "their yes counts once toward the 2 needed" in text_of(message.blocks)  # said before anyone clicks
    sandbox.interactions.click(message, "signoff_approve", "U0CAROL")
    updated_with(sandbox, message, "1 of 2 needed")
    sandbox.interactions.click(message, "signoff_approve", "U0CAROL")
    assert "already" in ephemeral_to(sandbox, "U0CAROL", "already").text
    assert rt.store.get(ticket.id).status == Status.PENDING_APPROVAL


def test_a_delegate_approves_a_batch_for_the_reviewer_away(rt, workers, slack_env, policy_file, sandbox, bot) -> None:
    batch = ("rules:\n  - name: outbound\n    match: {type: send_email}\n    mode: batch\n"
             "    approvers: {users: [U0ALICE]}\n    channel: '#approvals'\n"
             "    batch: {window: 1h, max: 2, group_by: [type]}\n  - name: rest\n    mode: auto\n")
    workers.start(extra_env=slack_env, policy=policy_file(batch))
    _said(sandbox, "U0ALICE", f"away until {BACK_ON} delegate @bob")
    tickets = [send_email.request(to=f"lead{i}@client.com", subject="Intro", body="Hi", agent="sales-bot",
                                  reason="new lead") for i in range(2)]
    message = sandbox.wait_for(lambda: next((m for m in sandbox.workspace.messages
                                             if "Approve these 2 actions" in text_of(m.blocks)), None))
    sandbox.interactions.click(message, "signoff_batch_approve_all", "U0BOB")
    outcomes = [t.wait(timeout=20) for t in tickets]
    assert [(o.status, o.decided_for) for o in outcomes] == [(Status.SUCCEEDED, "U0ALICE")] * 2


def test_delegation_false_asks_the_rules_other_approvers_and_pings_nobody_away(
        rt, workers, slack_env, policy_file, sandbox, bot) -> None:
    workers.start(extra_env=slack_env, policy=policy_file(_policy(
        "U0ALICE, U0CAROL", "    delegation: false\n    channel: '#approvals'\n    remind_every: 1h\n")))
    _said(sandbox, "U0ALICE", f"away until {BACK_ON} delegate @bob")
    ticket = _email(rt)
    message = approval_message(sandbox, ticket.id)
    assert "rule's own approvers only" in text_of(message.blocks)
    sandbox.interactions.click(message, "signoff_approve", "U0BOB")
    assert "lets only its own approvers decide" in ephemeral_to(sandbox, "U0BOB", "own approvers").text

    advance(rt, 3601)  # the reminder: Carol is pinged, Alice (away) is not, nor Bob (no delegate here)
    reminder = sandbox.wait_for(lambda: next((m for m in sandbox.workspace.messages
                                              if m.thread_ts == message.ts and "Reminder" in m.text), None))
    assert "<@U0CAROL>" in reminder.text and "U0ALICE" not in reminder.text and "U0BOB" not in reminder.text
    sandbox.interactions.click(message, "signoff_approve", "U0CAROL")
    assert ticket.wait(timeout=20).status == Status.SUCCEEDED


def test_a_level_where_everyone_is_away_escalates_at_once_and_nobody_available_is_said(
        rt, workers, slack_env, policy_file, sandbox, bot) -> None:
    chain = ("rules:\n  - name: outbound\n    match: {type: send_email}\n    mode: approve\n"
             "    escalation:\n      - {approvers: {users: [U0ALICE]}, after: 1h}\n"
             "      - {approvers: {users: [U0CAROL]}, after: 1h}\n"
             "  - name: refunds\n    match: {type: issue_refund}\n    mode: approve\n"
             "    approvers: {users: [U0ALICE]}\n    channel: '#approvals'\n  - name: rest\n    mode: auto\n")
    workers.start(extra_env=slack_env, policy=policy_file(chain))
    _said(sandbox, "U0ALICE", f"away until {BACK_ON}")  # no delegate
    ticket = _email(rt)
    message = approval_message(sandbox, ticket.id)
    assert "now asking <@U0CAROL>, because everyone at level 1 is away" in text_of(message.blocks)
    assert rt.store.get(ticket.id).waiting.level == 1
    held = next(e for e in _audit(rt, ticket.id) if e.step == "held")
    assert "Everyone at level 1 is away: asking level 2" in (held.note or "")
    sandbox.interactions.click(message, "signoff_approve", "U0CAROL")
    assert ticket.wait(timeout=20).status == Status.SUCCEEDED

    from tests.actions import issue_refund

    refund = issue_refund.request(customer_id="cus_9", amount=40, agent="support-bot", reason="late parcel")
    wait_status(rt, refund.id, Status.PENDING_APPROVAL)
    shown = text_of(approval_message(sandbox, refund.id).blocks)
    assert "Nobody who may decide is available" in shown and f"signoff approve {refund.id}" in shown


def test_an_away_record_or_a_delegates_vote_written_into_redis_counts_for_nothing(
        rt, workers, slack_env, policy_file, sandbox, bot) -> None:
    from signoff import lifecycle

    workers.start(extra_env=slack_env, policy=policy_file(_policy("U0ALICE", "    channel: '#approvals'\n"
                                                                   "    delegation: false\n")))
    # A record without the key's signature: Bob is not Alice's delegate, whatever it says.
    forged = away.Away(user="U0ALICE", until=datetime.now(UTC) + timedelta(days=3), delegate="U0BOB",
                       set_by="slack:U0ALICE", set_at=datetime.now(UTC))
    rt.connection.hset(away.AWAY, "U0ALICE", forged.model_dump_json())
    ticket = _email(rt)
    message = approval_message(sandbox, ticket.id)
    assert "away" not in text_of(message.blocks)
    rt.connection.delete(away.AWAY)

    # A writer flips the stored rule to allow delegation; the bot lets Bob vote for Alice, the door does not.
    away.set_away(rt, "U0ALICE", away.parse_until(BACK_ON), delegate="U0BOB", by="cli")
    doc = json.loads(rt.connection.get(action_key(ticket.id)))
    doc["waiting"] = json.dumps({**json.loads(doc["waiting"]), "delegation": True})
    rt.connection.set(action_key(ticket.id), json.dumps(doc))
    sandbox.interactions.click(message, "signoff_approve", "U0BOB")
    held = sandbox.wait_for(lambda: (a := rt.store.get(ticket.id)).status == Status.PENDING_APPROVAL
                            and any("refused before it ran" in r for r in a.risk) and a)
    assert "approval_refused" in [e.step for e in _audit(rt, ticket.id)]
    assert held.votes == [] and rt.connection.llen("test:sent") == 0  # nothing was sent

    # Alice herself may still decide: the hold asked a person again.
    lifecycle.decide(rt, ticket.id, "approve", by="slack:U0ALICE")
    assert ticket.wait(timeout=20).status == Status.SUCCEEDED


def test_the_home_tab_sets_away_and_back_and_shows_whom_you_decide_for(
        rt, workers, slack_env, policy_file, sandbox, bot) -> None:
    workers.start(extra_env=slack_env, policy=policy_file(_policy("U0ALICE", "    channel: '#approvals'\n")))
    sandbox.interactions.open_home("U0ALICE")
    assert "Away?" in text_of(sandbox.wait_for(lambda: home_blocks(sandbox, "U0ALICE")))
    sandbox.interactions.click_in_view(sandbox.workspace.homes["U0ALICE"], "signoff_set_away", "U0ALICE")
    modal = opened_view(sandbox, "signoff_away_modal")
    status, answer = sandbox.interactions.submit(modal.id, "U0ALICE", {"away_until": BACK_ON,
                                                                      "away_delegate": "U0ALICE"})
    assert status == 200 and "cannot be their own delegate" in answer  # the modal stays open, saying why
    sandbox.interactions.submit(modal.id, "U0ALICE", {"away_until": BACK_ON, "away_delegate": "U0BOB"})
    tab = sandbox.wait_for(lambda: "You're away" in text_of(home_blocks(sandbox, "U0ALICE"))
                           and home_blocks(sandbox, "U0ALICE"))
    assert UNTIL in text_of(tab) and "<@U0BOB> decides for you" in text_of(tab)

    ticket = _email(rt)
    sandbox.interactions.open_home("U0BOB")
    bobs = sandbox.wait_for(lambda: ticket.id in json.dumps(home_blocks(sandbox, "U0BOB"))
                            and home_blocks(sandbox, "U0BOB"))
    assert "You decide it for <@U0ALICE> (away)" in text_of(bobs)
    assert "You decide for <@U0ALICE> while they are away" in text_of(bobs)

    sandbox.interactions.click_in_view(sandbox.workspace.homes["U0ALICE"], "signoff_back", "U0ALICE")
    sandbox.wait_for(lambda: "Away?" in text_of(home_blocks(sandbox, "U0ALICE")))
    assert away.absences(rt).of("U0ALICE") is None


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "signoff_app.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})})


def test_operators_set_list_and_end_an_absence_from_the_cli(rt) -> None:
    set_ = _cli("away", "set", "U0ALICE", "--until", BACK_ON, "--delegate", "U0BOB", "--by", "ops")
    assert set_.returncode == 0, set_.stderr
    assert f"U0ALICE away until {BACK_ON} 00:00 UTC, U0BOB decides for them" in set_.stdout
    listed = _cli("away", "list")
    assert "U0ALICE" in listed.stdout and "delegate U0BOB" in listed.stdout and "set by ops" in listed.stdout
    bad = _cli("away", "set", "U0ALICE", "--until", "2020-01-01")
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "has passed" in bad.stderr
    assert _cli("away", "back", "U0ALICE").stdout.strip() == "U0ALICE is back"
    assert _cli("away", "list").stdout.strip() == "nobody is away"
    assert [e.step for e in _audit(rt)][-2:] == ["away_set", "away_ended"]


def test_levels_where_everyone_is_away_are_passed_but_never_the_last() -> None:
    from policies.waiting import Waiting, WaitLevel

    now = datetime(2026, 12, 4, 12, tzinfo=UTC)
    records = {u: away.Away(user=u, until=now + timedelta(days=3), set_by="cli", set_at=now)
               for u in ("U0ALICE", "U0BOB", "U0CAROL")}
    chain = [WaitLevel(users=["U0ALICE"], after=3600), WaitLevel(users=["U0BOB"], after=1800),
             WaitLevel(users=["U0DAN"], after=600)]
    waiting = Waiting(deadline_at=now + timedelta(seconds=6000), chain=chain)
    passed = away.past_absent_levels(waiting, away.Absences({u: records[u] for u in ("U0ALICE", "U0BOB")}), now)
    assert (passed.level, passed.escalated_because) == (2, "Everyone at levels 1-2 is away")
    assert passed.deadline_at == now + timedelta(seconds=600)  # what is left: the last level's wait
    everyone = away.Absences({**records, "U0DAN": records["U0ALICE"].model_copy(update={"user": "U0DAN"})})
    assert away.past_absent_levels(waiting, everyone, now).level == 2  # the last level waits, saying so
    with_group = waiting.model_copy(update={"chain": [WaitLevel(users=["U0ALICE"], groups=["S0OPS"], after=60),
                                                      *chain[1:]]})
    assert away.past_absent_levels(with_group, everyone, now).level == 0  # a group always has someone
    delegated = away.Absences({"U0ALICE": records["U0ALICE"].model_copy(update={"delegate": "U0ERIN"})})
    assert away.past_absent_levels(waiting, delegated, now) is waiting  # her delegate is asked at level 1
    assert delegated.asked(["U0ALICE", "U0BOB"]) == ["U0ERIN", "U0BOB"]
    assert delegated.asked(["U0ALICE", "U0BOB"], delegation=False) == ["U0BOB"]
