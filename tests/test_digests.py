"""Daily digests: schedule in each team's timezone, content, no item missed or repeated, Flag and undo."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from rq.job import Job

from policies.routing import REVIEW_ASKED
from policies.teams import Team
from signoff import Signoff, Status
from signoff.runtime import JOB_SERIALIZER
from tests.actions import explode, send_email, tag_customer, update_crm
from tests.helpers import wait_status
from tests.slack_helpers import approval_message, ephemeral_to, text_of

TEAMS = """
teams:
  - name: ops
    channel: "#approvals"
    timezone: Europe/Berlin
    at: "09:00"
    days: [mon, tue, wed, thu, fri]
    when_empty: {when_empty}
"""
MONDAY_9_BERLIN = "2026-11-30T08:00:00+00:00"  # winter: UTC+1
TUESDAY_9_BERLIN = "2026-12-01T08:00:00+00:00"


@pytest.mark.parametrize(("utc", "due"), [
    ("2026-03-27T08:00:00+00:00", "2026-03-27"),  # Friday before DST: 09:00 CET
    ("2026-03-27T07:59:00+00:00", None),
    ("2026-03-28T08:00:00+00:00", None),  # Saturday
    ("2026-03-30T07:00:00+00:00", "2026-03-30"),  # Monday after the switch: 09:00 is 07:00 UTC
    ("2026-03-30T06:59:00+00:00", None),
    ("2026-10-26T08:00:00+00:00", "2026-10-26"),  # Monday after DST ends: 09:00 is 08:00 UTC again
    ("2026-10-26T07:30:00+00:00", None),
    ("2026-12-01T07:59:00+00:00", None),  # Tuesday 08:59 in Berlin
    ("2026-12-01T23:30:00+00:00", "2026-12-02"),  # already Wednesday 00:30 in Berlin: after 09:00? no
])
def test_a_digest_is_due_at_the_teams_local_time_across_dst(utc: str, due: str | None) -> None:
    team = Team(name="ops", channel="#ops", timezone="Europe/Berlin", at="00:15")
    nine = Team(name="ops", channel="#ops", timezone="Europe/Berlin", at="09:00")
    moment = datetime.fromisoformat(utc)
    if utc.startswith("2026-12-01T23"):
        assert (team.local_date_due(moment), nine.local_date_due(moment)) == (due, None)
    else:
        assert nine.local_date_due(moment) == due


@pytest.fixture
def teams_env(tmp_path: Any, slack_env: dict[str, str]) -> dict[str, str]:
    path = tmp_path / "teams.yml"
    path.write_text(TEAMS.format(when_empty="say"))
    return {**slack_env, "SIGNOFF_TEAMS": str(path)}


def _digest_worker(workers: Any, teams_env: dict[str, str]) -> Any:
    return workers.start(extra_env=teams_env)


def _run_digests(rt: Any, now: str) -> list[str]:
    job = rt.slack_queue.enqueue("bot.jobs.digests.send_due_digests", now)
    result = Job.fetch(job.id, connection=rt.connection, serializer=JOB_SERIALIZER).latest_result(timeout=20)
    assert result is not None, "the digest job did not finish"
    if result.type != result.Type.SUCCESSFUL:
        raise AssertionError(result.exc_string)
    return list(result.return_value)


def _digests(sandbox: Any) -> list[Any]:
    return [m for m in sandbox.workspace.messages if "Daily digest" in text_of(m.blocks)
            or "Nothing ran without approval" in m.text]


def test_the_digest_shows_what_ran_without_approval_failures_first(
        rt, workers, teams_env, sandbox, bot) -> None:
    _digest_worker(workers, teams_env)
    ran = update_crm.request(record_id="1", field="f", value="v", agent="crm-bot", reason="r")
    failed = explode.request(message="disk full", agent="ops-bot", reason="r")
    approved = send_email.request(to="a@client.com", subject="s", body="b", agent="mail-bot", reason="r")
    assert ran.wait(20).status == Status.SUCCEEDED and failed.wait(20).status == Status.FAILED
    wait_status(rt, approved.id, Status.PENDING_APPROVAL)
    Signoff(connection=rt.connection).decide(approved.id, "approve", by="alice")
    assert approved.wait(20).status == Status.SUCCEEDED

    assert _run_digests(rt, MONDAY_9_BERLIN) == ["ops"]
    [digest] = _digests(sandbox)
    assert digest.blocks[0]["text"]["text"] == "Daily digest for ops: 2 actions ran without approval, 1 failed"
    shown = text_of(digest.blocks)
    assert "*crm-bot*: update crm x 1" in shown and approved.id not in shown
    items = [b for b in digest.blocks if b.get("accessory", {}).get("action_id") == "signoff_flag"]
    assert [b["accessory"]["value"] for b in items] == [failed.id, ran.id]  # failures first
    assert _run_digests(rt, MONDAY_9_BERLIN) == []  # once a day


def test_no_item_is_missed_or_repeated_across_a_restart_and_a_failed_post(
        rt, workers, teams_env, sandbox, bot) -> None:
    first_worker = _digest_worker(workers, teams_env)
    early = update_crm.request(record_id="1", field="f", value="v", agent="crm-bot", reason="r")
    early.wait(20)
    _run_digests(rt, MONDAY_9_BERLIN)
    first_worker.terminate()  # a restart between two digests
    first_worker.wait(10)
    _digest_worker(workers, teams_env)
    late = update_crm.request(record_id="2", field="f", value="v", agent="crm-bot", reason="r")
    late.wait(20)
    sandbox.fail("chat.postMessage", "internal_error")
    with pytest.raises(AssertionError, match="internal_error"):
        _run_digests(rt, TUESDAY_9_BERLIN)
    assert _run_digests(rt, TUESDAY_9_BERLIN) == ["ops"]  # the failed day is tried again
    monday, tuesday = _digests(sandbox)
    assert early.id in text_of(monday.blocks) and late.id not in text_of(monday.blocks)
    assert late.id in text_of(tuesday.blocks) and early.id not in text_of(tuesday.blocks)


def test_an_empty_digest_says_so_in_one_line_or_is_skipped(rt, workers, teams_env, sandbox, bot) -> None:
    _digest_worker(workers, teams_env)
    _run_digests(rt, MONDAY_9_BERLIN)
    [empty] = _digests(sandbox)
    assert empty.text == "Nothing ran without approval for ops since the last digest."


def test_flag_tells_the_owner_and_offers_an_undo_through_approval(
        rt, workers, teams_env, sandbox, bot) -> None:
    _digest_worker(workers, teams_env)
    tagged = tag_customer.request(customer_id="cus_1", tag="vip", agent="crm-bot", reason="big spender")
    tagged.wait(20)
    _run_digests(rt, MONDAY_9_BERLIN)
    [digest] = _digests(sandbox)
    sandbox.interactions.click(digest, "signoff_flag", "U0BOB")
    offer = ephemeral_to(sandbox, "U0BOB", "Undo it?")
    assert rt.store.get(tagged.id).review == "flagged"
    dm = sandbox.wait_for(lambda: next((m for m in sandbox.workspace.messages if m.channel.startswith("D")), None))
    assert "U0CAROL" in sandbox.workspace.channels[dm.channel].members and tagged.id in dm.text
    flags = [e for e in Signoff(connection=rt.connection).audit(action_id=tagged.id) if e.step == "flagged"]
    assert [f.actor for f in flags] == ["slack:U0BOB"]

    sandbox.interactions.click(offer, "signoff_request_undo", "U0BOB")
    ephemeral_to(sandbox, "U0BOB", "Undo requested")
    undo = next(a for a in rt.store.newest() if a.type == "untag_customer")
    assert undo.params == {"action_id": tagged.id}
    assert wait_status(rt, undo.id, Status.PENDING_APPROVAL).risk == [REVIEW_ASKED]
    approval_message(sandbox, undo.id)  # asked like any other action


def test_dry_run_from_the_cli_shows_the_digest_and_sends_nothing(rt, workers, teams_env, sandbox) -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    _digest_worker(workers, teams_env)
    update_crm.request(record_id="9", field="f", value="v", agent="crm-bot", reason="r").wait(20)
    shown = subprocess.run([sys.executable, "-m", "signoff_app.cli", "digest", "--team", "ops", "--dry-run"], cwd=ROOT,
                           env={**os.environ, **teams_env}, capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("Daily digest for ops: 1 action ran without approval")
    assert sandbox.calls_to("chat.postMessage") == []
    assert not rt.connection.exists("signoff:digest:ops:cursor")  # the next real digest still shows it


def test_a_team_may_skip_an_empty_digest(rt, workers, teams_env, tmp_path, sandbox, bot) -> None:
    (tmp_path / "teams.yml").write_text(TEAMS.format(when_empty="skip"))
    _digest_worker(workers, teams_env)
    assert _run_digests(rt, MONDAY_9_BERLIN) == ["ops"]
    assert _digests(sandbox) == [] and sandbox.calls_to("chat.postMessage") == []


def test_once_a_week_the_digest_carries_approval_health_and_names_rubber_stamps(
        rt, workers, teams_env, sandbox, bot) -> None:
    from tests.history import History

    history = History()
    for n in range(60):  # Thursday 1 October: 60 held, every one approved as asked
        history.held(f"s{n}", n * 100, rule="stamped", type="update_crm")
        history.decided(f"s{n}", n * 100 + 30, "approved", "slack:U0DAN")
    history.write(rt.connection)
    _digest_worker(workers, teams_env)

    assert _run_digests(rt, "2026-10-02T07:00:00+00:00") == ["ops"]  # Friday 09:00 Berlin (summer: UTC+2)
    assert _run_digests(rt, "2026-10-05T07:00:00+00:00") == ["ops"]  # Monday
    assert _run_digests(rt, "2026-10-09T07:00:00+00:00") == ["ops"]  # a week after the first
    friday, monday, next_friday = (text_of(m.blocks) for m in _digests(sandbox))
    assert "*Approval health, last 7 days*" in friday
    assert "*stamped*: 60 requests, 100% approved as asked, median 30 s" in friday
    assert "rule stamped: 60 of 60 decisions were plain approvals (100%)" in friday
    assert "Approval health" not in monday
    assert "*Approval health, last 7 days*" in next_friday and "stamped" not in next_friday  # last week held nothing
