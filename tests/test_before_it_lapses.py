"""Before an approval lapses: a warning that mentions who may decide, Extend (by the rule's own
`extend_by`, at most `max_extensions` times, audited), and asking again after expiry as a new action
linked to the old. Real worker, web process and sandbox; time is driven, never slept."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from typing import Any

from agent_api.models import ActionView
from signoff import Signoff, Status
from tests.actions import send_email
from tests.conftest import ROOT
from tests.helpers import advance, wait_status
from tests.slack_helpers import approval_message, ephemeral_to, text_of, updated_with

POLICY = ("rules:\n  - name: outbound\n    match: {type: send_email}\n    mode: approve\n"
          "    approvers: {users: [U0ALICE]}\n    channel: '#approvals'\n    deadline: 2h\n    warn_before: 30m\n"
          "    extend_by: 1h\n    max_extensions: 1\n  - name: rest\n    mode: auto\n")


def _email(rt: Any) -> Any:
    ticket = send_email.request(to="sarah@client.com", subject="Renewal", body="Terms attached", agent="sales-bot",
                                reason="Sarah asked for the terms")
    wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    return ticket


def _events(rt: Any, action_id: str) -> list[str]:
    return [e.step for e in Signoff(connection=rt.connection).audit(action_id=action_id)]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "signoff_app.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_a_warning_before_the_deadline_then_extend_once_as_the_rule_allows(
        rt, workers, slack_env, policy_file, sandbox, bot) -> None:
    workers.start(extra_env=slack_env, policy=policy_file(POLICY))
    ticket = _email(rt)
    message = approval_message(sandbox, ticket.id)
    deadline = rt.store.get(ticket.id).waiting.deadline_at
    assert ActionView.of(rt.store.get(ticket.id), "/api/v1").expires_at == deadline  # what the agent's API shows

    advance(rt, 91 * 60)  # 30 minutes before the deadline
    warning = sandbox.wait_for(lambda: next((m for m in sandbox.workspace.messages
                                             if m.thread_ts == message.ts and "expires" in m.text), None))
    assert "<@U0ALICE>" in warning.text and "Extend" in warning.text  # who may decide, and what they can do
    assert "warned" in _events(rt, ticket.id)

    sandbox.interactions.click(message, "signoff_extend", "U0BOB")  # not one who may decide: told so
    assert "can't decide" in ephemeral_to(sandbox, "U0BOB", "can't decide").text
    sandbox.interactions.click(message, "signoff_extend", "U0ALICE")
    ephemeral_to(sandbox, "U0ALICE", "Extended")
    extended = rt.store.get(ticket.id)
    assert extended.waiting.deadline_at == deadline + timedelta(hours=1) and extended.waiting.extensions == 1
    updated_with(sandbox, message, "extended 1 of 1")
    assert "signoff_extend" not in json.dumps(message.blocks)  # the rule allows no more
    refused = _cli("extend", ticket.id, "--by", "U0ALICE")
    assert refused.returncode == 1 and "extended 1 time(s) already" in refused.stderr
    assert _events(rt, ticket.id).count("extended") == 1

    advance(rt, 2 * 3600)  # past the first deadline: the extension holds it
    assert rt.store.get(ticket.id).status == Status.PENDING_APPROVAL
    advance(rt, 3 * 3600 + 60)  # past the extended one
    assert ticket.wait(timeout=20).status == Status.EXPIRED
    assert "Expires" not in text_of(updated_with(sandbox, message, "Expired").blocks)


def test_an_expired_action_is_asked_again_as_a_new_one_linked_to_it(rt, workers, policy_file) -> None:
    workers.start(policy=policy_file(POLICY))
    ticket = _email(rt)
    advance(rt, 2 * 3600 + 60)
    assert ticket.wait(timeout=20).status == Status.EXPIRED

    again = ticket.rerequest()  # the agent's SDK
    asked = wait_status(rt, again.id, Status.PENDING_APPROVAL)
    old = rt.store.get(ticket.id)
    assert (asked.rerequest_of, asked.params, asked.agent, asked.reason) == (old.id, old.params, old.agent, old.reason)
    assert _events(rt, ticket.id)[-1] == "rerequested" and asked.waiting.deadline_at > old.updated_at

    done = _cli("rerequest", again.id)  # an operator's CLI: only an expired action may be asked again
    assert done.returncode == 1 and "pending_approval" in done.stderr
