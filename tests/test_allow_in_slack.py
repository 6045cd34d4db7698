""""Approve and allow similar" in Slack: only whoever may decide may allow; the allowance is listed,
explained and revoked from the CLI and the Home tab."""

from __future__ import annotations

import json
from typing import Any

from signoff import Status, allowances
from tests.actions import send_email
from tests.helpers import wait_status
from tests.slack_helpers import approval_message, ephemeral_to, home_blocks, text_of
from tests.test_cli import signoff

POLICY = """
rules:
  - name: partner-mail
    match: {type: send_email}
    mode: approve
    approvers: {users: [U0BOB]}
    channel: "#approvals"            # where Alice sees it too, but may not decide it
  - {name: rest, mode: auto}
"""


def _allow_modal(sandbox: Any, user: str) -> Any:
    return sandbox.wait_for(lambda: next((v for v in sandbox.workspace.views.values() if v.user == user
                                          and v.view.get("callback_id") == "signoff_allow_modal"), None))


def test_only_an_approver_may_allow_and_the_allowance_is_kept_with_its_author(
        rt, workers, slack_env, policy_file, sandbox, bot) -> None:  # type: ignore[no-untyped-def]
    path = policy_file(POLICY)
    workers.start(extra_env=slack_env, policy=path)
    ticket = send_email.request(to="ann@partner.example", subject="Invoice", body="Attached", agent="mail-bot",
                                reason="monthly invoice")
    message = approval_message(sandbox, ticket.id)
    option = f"{ticket.id}:1:7"

    sandbox.interactions.click(message, "signoff_allow_similar", "U0ALICE", selected=option)
    assert "lets only <@U0BOB> decide it" in ephemeral_to(sandbox, "U0ALICE", "can't decide").text
    assert allowances.every(rt) == [] and rt.store.get(ticket.id).status == Status.PENDING_APPROVAL

    sandbox.interactions.click(message, "signoff_allow_similar", "U0BOB", selected=option)
    modal = _allow_modal(sandbox, "U0BOB")
    assert "for 7 days" in text_of(modal.view["blocks"])
    status, _ = sandbox.interactions.submit(modal.id, "U0BOB", {"must_match": ["0"], "allow_reason": "invoices"})
    assert status == 200
    assert wait_status(rt, ticket.id, Status.SUCCEEDED).decided_by == "slack:U0BOB"
    [made] = allowances.every(rt)
    assert (made.author, made.reason, [r.describe() for r in made.requirements]) == (
        "slack:U0BOB", "invoices", ["to: only @partner.example addresses"])

    listed = json.loads(signoff("--json", "allow", "list").stdout)
    assert [a["id"] for a in listed] == [made.id]
    explained = signoff("allow", "explain", made.id).stdout
    assert "send_email from agent mail-bot" in explained and "to: only @partner.example addresses" in explained

    # Bob's Home tab lists it, and its Revoke button ends it.
    sandbox.interactions.open_home("U0BOB")
    sandbox.wait_for(lambda: made.id in text_of(home_blocks(sandbox, "U0BOB")))
    sandbox.interactions.click_in_view(sandbox.workspace.homes["U0BOB"], "signoff_revoke_allowance", "U0BOB")
    sandbox.wait_for(lambda: allowances.every(rt) == [])
    assert "no allowance" in signoff("allow", "revoke", made.id, check=False).stderr
