"""A burst of simultaneous clicks: every one answered, none reset, one decision and one run."""

from __future__ import annotations

from bench.burst import burst
from signoff import Status
from signoff.audit import read_events
from tests.actions import send_email
from tests.helpers import wait_status
from tests.slack_helpers import approval_message


def test_two_hundred_simultaneous_clicks_on_one_action(rt, sandbox, bot, slack_worker) -> None:
    ticket = send_email.request(to="sarah@client.com", subject="Q3", body="b", agent="finance-bot", reason="r")
    message = approval_message(sandbox, ticket.id)
    clicks = [sandbox.interactions.signed_click(message, "signoff_approve", user)
              for user in ("U0ALICE", "U0BOB", "U0CAROL", "U0MALLORY") for _ in range(50)]
    result = burst(sandbox.bot_port, clicks)
    assert (result.resets, result.ok) == (0, 200)
    assert wait_status(rt, ticket.id, Status.SUCCEEDED).decided_by.startswith("slack:")
    steps = [e.step for e in read_events(rt.connection, action_id=ticket.id)]
    assert steps.count("approved") == 1 and steps.count("started") == 1
    assert rt.connection.llen("test:sent") == 1


def test_a_malformed_timestamp_is_refused_as_unsigned_not_a_server_error(sandbox, bot) -> None:
    status, _ = sandbox.send_to_bot("payload={}", "application/x-www-form-urlencoded",
                                    headers={"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"})
    assert status == 401
