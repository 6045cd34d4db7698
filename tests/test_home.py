"""The Home tab: within Slack's Block Kit limits at any size, published when opened, refreshed (debounced)
when something its reviewer can decide arrives, and its buttons work like the channel message's."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient

from bot import home
from bot.authz import MembershipCache
from bot.views.home import home_view
from signoff import Status
from signoff.models import Action
from signoff_app.sandbox.blockcheck import check_view
from tests.actions import issue_refund
from tests.helpers import wait_status
from tests.slack_helpers import home_blocks, text_of


def _pending(rt, count: int) -> None:  # type: ignore[no-untyped-def]
    for n in range(count):
        action = Action(type="send_email", agent="support-bot", reason=f"reply {n}", status=Status.PENDING_APPROVAL,
                        params={"to": f"c{n}@client.com", "subject": "x" * 140, "body": "y" * 3000},
                        rule="customer-email", approvers={"users": ["U0ALICE"]})
        rt.store.create(action, event=_event(action))


def _event(action: Action) -> Any:
    from signoff.models import AuditEvent

    return AuditEvent(action_id=action.id, step="requested", actor="agent:support-bot")


@pytest.mark.parametrize("waiting", [0, 1, 500])
def test_the_home_tab_is_within_slacks_limits(rt, waiting: int) -> None:  # type: ignore[no-untyped-def]
    _pending(rt, waiting)
    members = MembershipCache(WebClient(base_url="http://127.0.0.1:9/"))  # the rule names its approvers: no call
    first = home_view(home.build(rt, members, "U0ALICE", page=0))
    assert check_view(first) == []
    shown = text_of(first["blocks"])
    assert f"*Waiting for you* ({waiting:,})" in shown
    approves = [e for b in first["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e["action_id"] == "signoff_approve"]
    assert len(approves) == min(waiting, 10)
    if waiting == 0:
        assert "Nothing waits for you." in shown
    if waiting == 500:
        assert "Page 1 of 50" in shown
        last = home_view(home.build(rt, members, "U0ALICE", page=49))
        assert check_view(last) == [] and "Page 50 of 50" in text_of(last["blocks"])
        assert [e["text"]["text"] for b in last["blocks"] if b.get("block_id") == "home_pages"
                for e in b["elements"]] == ["Previous"]
    # Somebody the rule does not name sees none of it.
    assert "(0)" in text_of(home_view(home.build(rt, members, "U0MALLORY"))["blocks"])


def test_opened_then_refreshed_when_work_arrives_and_approve_works_there(
        rt, workers, slack_env, sandbox, bot) -> None:  # type: ignore[no-untyped-def]
    workers.start(extra_env=slack_env, policy="demo")
    assert sandbox.interactions.open_home("U0ALICE")[0] == 200
    sandbox.wait_for(lambda: "Nothing waits for you." in text_of(home_blocks(sandbox, "U0ALICE")))

    ticket = issue_refund.request(customer_id="c1", amount=900, agent="support-bot", reason="late delivery")
    wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    sandbox.wait_for(lambda: ticket.id in text_of(home_blocks(sandbox, "U0ALICE")))  # refreshed without opening again
    assert "*Waiting for you* (1)" in text_of(home_blocks(sandbox, "U0ALICE"))

    view_id = sandbox.workspace.homes["U0ALICE"]
    status, _ = sandbox.interactions.click_in_view(view_id, "signoff_approve", "U0ALICE", block_id=f"home_{ticket.id}")
    assert status == 200
    assert wait_status(rt, ticket.id, Status.SUCCEEDED).decided_by == "slack:U0ALICE"
    sandbox.wait_for(lambda: ticket.id not in text_of(home_blocks(sandbox, "U0ALICE")))


def test_a_burst_of_arrivals_is_one_publish_per_window(rt, workers, slack_env, sandbox, bot) -> None:  # type: ignore[no-untyped-def]
    from signoff import homes
    from tests.helpers import advance, wait_worker_idle

    homes.opened(rt, "U0ALICE")
    worker = workers.start(extra_env=slack_env, policy="demo")
    tickets = [issue_refund.request(customer_id=f"c{n}", amount=900, agent="support-bot", reason="late")
               for n in range(6)]
    for ticket in tickets:
        wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    advance(rt, homes.WINDOW_SECONDS)  # the window's end (the worker's own scheduler may have got there first)
    sandbox.wait_for(lambda: "*Waiting for you* (6)" in text_of(home_blocks(sandbox, "U0ALICE")))
    wait_worker_idle(rt, worker.pid)
    # Six arrivals within the window: one publish at once and at most one at its end, the last showing all six
    # (without the window, six).
    assert 1 <= len(sandbox.calls_to("views.publish")) <= 2
