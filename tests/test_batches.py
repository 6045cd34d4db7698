"""Batches: gathered per rule and group, sent by size or window, decided together, atomic per item."""

from __future__ import annotations

from typing import Any

from signoff import Signoff, Status
from signoff.batches import Batches
from tests.actions import send_email
from tests.helpers import wait_status
from tests.slack_helpers import text_of

ALICE = "U0ALICE"


def _policy(policy_file: Any, window: str = "1h", size: int = 3) -> str:
    return policy_file(f"rules:\n  - name: outbound\n    match: {{type: send_email}}\n    mode: batch\n"
                       f"    batch: {{window: {window}, max: {size}, group_by: [type, agent]}}\n")


def _emails(rt: Any, n: int, agent: str = "sales-bot") -> list[Any]:
    tickets = [send_email.request(to=f"lead{i}@client.com", subject=f"Intro {i}", body="Hello",
                                  agent=agent, reason="new lead") for i in range(n)]
    for ticket in tickets:
        wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    return tickets


def _batch_message(sandbox: Any, count: int) -> Any:
    return sandbox.wait_for(lambda: next((m for m in sandbox.workspace.messages
                                          if f"Approve these {count} actions" in text_of(m.blocks)), None))


def test_a_full_batch_is_sent_once_and_approve_all_runs_each_item_once(
        rt, workers, slack_env, policy_file, sandbox, bot) -> None:
    workers.start(extra_env=slack_env, policy=_policy(policy_file))
    tickets = _emails(rt, 3)
    message = _batch_message(sandbox, 3)
    assert message.blocks[0]["text"]["text"] == "Approve these 3 actions: send email from sales-bot"
    assert all(t.id in text_of(message.blocks) for t in tickets)
    assert len(sandbox.calls_to("chat.postMessage", ok=True)) == 1  # one message, not one per action

    sandbox.interactions.click(message, "signoff_batch_approve_all", ALICE)
    for ticket in tickets:
        assert ticket.wait(20).status == Status.SUCCEEDED
    assert rt.connection.llen("test:sent") == 3
    batch_id = rt.store.get(tickets[0].id).batch_id
    decisions = [e for e in Signoff(connection=rt.connection).audit() if e.step == "approved"]
    assert sorted(e.action_id for e in decisions) == sorted(t.id for t in tickets)
    assert {(e.batch, e.actor) for e in decisions} == {(batch_id, f"slack:{ALICE}")}
    sandbox.wait_for(lambda: "3 approved, 0 rejected" in text_of(message.blocks))


def test_a_window_sends_a_batch_that_never_fills(rt, workers, slack_env, policy_file, sandbox, bot) -> None:
    workers.start(extra_env=slack_env, policy=_policy(policy_file, window="1s", size=50))
    _emails(rt, 2)
    message = _batch_message(sandbox, 2)  # sent by RQ's scheduler when the window closed
    assert "signoff_batch_review" in text_of(message.blocks)


def test_review_approves_a_subset_and_rejects_the_rest(rt, workers, slack_env, policy_file, sandbox, bot) -> None:
    workers.start(extra_env=slack_env, policy=_policy(policy_file, size=4))
    tickets = _emails(rt, 4)
    message = _batch_message(sandbox, 4)
    sandbox.interactions.click(message, "signoff_batch_review", ALICE)
    modal = sandbox.wait_for(lambda: next((v for v in sandbox.workspace.views.values()
                                           if v.view.get("callback_id") == "signoff_batch_review_modal"), None))
    keep = [tickets[0].id, tickets[2].id]
    sandbox.interactions.submit(modal.id, ALICE, {"items:0": keep, "rest": "reject", "note": "Not these two"})
    outcomes = {t.id: t.wait(20) for t in tickets}
    assert {i for i, o in outcomes.items() if o.status == Status.SUCCEEDED} == set(keep)
    rejected = [o for o in outcomes.values() if o.status == Status.REJECTED]
    assert len(rejected) == 2 and {o.note for o in rejected} == {"Not these two"}


def test_an_item_decided_on_its_own_is_not_decided_again(rt, workers, slack_env, policy_file, sandbox, bot) -> None:
    workers.start(extra_env=slack_env, policy=_policy(policy_file))
    tickets = _emails(rt, 3)
    message = _batch_message(sandbox, 3)
    Signoff(connection=rt.connection).decide(tickets[1].id, "reject", by="carol", note="wrong lead")
    sandbox.interactions.click(message, "signoff_batch_approve_all", ALICE)
    assert [t.wait(20).status for t in tickets] == [Status.SUCCEEDED, Status.REJECTED, Status.SUCCEEDED]
    assert rt.store.get(tickets[1].id).decided_by == "carol"
    steps = [e.step for e in Signoff(connection=rt.connection).audit(action_id=tickets[1].id)]
    assert steps == ["requested", "held", "rejected"]


def test_a_large_batch_stays_within_slacks_limits_and_pages_its_review(
        rt, workers, slack_env, policy_file, sandbox, bot) -> None:
    workers.start(extra_env=slack_env, policy=_policy(policy_file, size=120))
    _emails(rt, 120)
    message = _batch_message(sandbox, 120)  # the sandbox refuses anything over Slack's limits
    assert "and 80 more" in text_of(message.blocks)
    sandbox.interactions.click(message, "signoff_batch_review", ALICE)
    modal = sandbox.wait_for(lambda: next((v for v in sandbox.workspace.views.values()
                                           if v.view.get("callback_id") == "signoff_batch_review_modal"), None))
    groups = [b for b in modal.view["blocks"] if b.get("block_id", "").startswith("items:")]
    assert [len(g["element"]["options"]) for g in groups] == [10] * 5
    sandbox.interactions.click_in_view(modal.id, "signoff_batch_page_next", ALICE)
    sandbox.wait_for(lambda: "Page 2 of 3" in text_of(modal.view["blocks"]))
    sandbox.interactions.click_in_view(modal.id, "signoff_batch_page_next", ALICE)  # the middle page: both ways
    sandbox.wait_for(lambda: "Page 3 of 3" in text_of(modal.view["blocks"]))
    assert Batches(rt.connection).get(rt.store.newest(limit=1)[0].batch_id or "").status == "sent"


def test_a_paused_runaway_agents_held_actions_come_as_one_message(
        rt, workers, slack_env, policy_file, sandbox, bot) -> None:
    from tests.actions import update_crm
    from tests.helpers import advance
    from tests.test_cli import signoff

    workers.start(extra_env=slack_env, policy=policy_file(
        "allow_no_approval: true\nrunaway: {max_actions: 2, window: 60s}\nrules:\n  - {name: rest, mode: auto}\n"))
    tickets = [update_crm.request(record_id=str(n), field="f", value="v", agent="loop-bot", reason="r")
               for n in range(5)]
    held = [t for t in tickets if rt.store.wait_for_status(t.id, {Status.SUCCEEDED, Status.PENDING_APPROVAL}, 20)
            .status == Status.PENDING_APPROVAL]
    assert len(held) == 3
    advance(rt, 61)  # the paused agent's batch window closes
    message = sandbox.wait_for(lambda: next((m for m in sandbox.workspace.messages
                                             if "held because it was paused" in text_of(m.blocks)), None))
    assert message.blocks[0]["text"]["text"] == "3 actions from loop-bot, held because it was paused"
    assert len(sandbox.calls_to("chat.postMessage", ok=True)) == 1  # one message, not one per held action
    resumed = signoff("agents", "--resume", "loop-bot").stdout
    assert "the 3 actions held while it was paused still wait for a person" in resumed


def test_a_group_only_rules_batch_approved_by_a_group_member_runs(
        rt, workers, slack_env, policy_file, sandbox, bot) -> None:
    # Bob may decide as a member of @finance, not by name: the door must see that in his batch vote too.
    workers.start(extra_env=slack_env, policy=policy_file(
        "rules:\n  - name: outbound\n    match: {type: send_email}\n    mode: batch\n"
        "    approvers: {groups: [S0FINANCE]}\n    batch: {window: 1h, max: 2, group_by: [type]}\n"))
    tickets = _emails(rt, 2)
    sandbox.interactions.click(_batch_message(sandbox, 2), "signoff_batch_approve_all", "U0BOB")
    for ticket in tickets:
        outcome = ticket.wait(20)
        assert (outcome.status, outcome.decided_by) == (Status.SUCCEEDED, "slack:U0BOB"), outcome
    assert rt.connection.llen("test:sent") == 2
