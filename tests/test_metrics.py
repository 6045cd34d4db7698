"""`GET /metrics` on the web process: what an operator alerts on, in Prometheus's format, from real
processes (worker, web process, the sandbox as Slack)."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from signoff import Status
from tests.actions import send_email, update_crm
from tests.conftest import Bot
from tests.helpers import wait_status
from tests.slack_helpers import approval_message


def _scrape(bot: Any, token: str | None = None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    base = bot.url.removesuffix("/slack/events")
    request = urllib.request.Request(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_show_who_waits_by_rule_decisions_runs_and_slack_failures(rt, sandbox, bot, slack_worker) -> None:
    sandbox.fail("chat.postMessage", "internal_error")  # the first post fails once; RQ retries it
    waiting = send_email.request(to="ann@client.com", subject="s", body="b", agent="mail-bot", reason="r")
    approved = send_email.request(to="bob@client.com", subject="s", body="b", agent="mail-bot", reason="r")
    ran = update_crm.request(record_id="r1", field="f", value="v", agent="crm-bot", reason="r")
    for ticket in (waiting, approved):
        approval_message(sandbox, ticket.id)
    sandbox.interactions.click(approval_message(sandbox, approved.id), "signoff_approve", "U0ALICE")
    assert approved.wait(20).status == ran.wait(20).status == Status.SUCCEEDED
    wait_status(rt, waiting.id, Status.PENDING_APPROVAL)

    figures = _scrape(bot)
    assert figures[("signoff_waiting_actions", (("rule", "external-communications"),))] == 1
    assert figures[("signoff_actions", (("status", "pending_approval"),))] == 1
    assert figures[("signoff_transitions_total", (("status", "succeeded"),))] == 2
    assert figures[("signoff_transitions_total", (("status", "received"),))] == 3
    assert figures[("signoff_decision_seconds_count", ())] == 1  # a person's; the policy's auto-run is not one
    assert figures[("signoff_decision_seconds_bucket", (("le", "+Inf"),))] == 1
    assert figures[("signoff_oldest_waiting_seconds", ())] > 0
    assert figures[("signoff_overdue_timers", ())] == 0
    assert figures[("signoff_slack_call_failures_total", (("call", "chat.postMessage"),))] == 1


def test_with_a_token_set_only_a_scraper_sending_it_gets_the_figures(rt, sandbox, slack_env) -> None:
    guarded = Bot({**slack_env, "SIGNOFF_METRICS_TOKEN": "scrape-secret"}, sandbox)
    try:
        try:
            _scrape(guarded)
            raise AssertionError("served without the token")
        except urllib.error.HTTPError as refused:
            assert refused.code == 401
        assert ("signoff_overdue_timers", ()) in _scrape(guarded, token="scrape-secret")
    finally:
        guarded.stop()
