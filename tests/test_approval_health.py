"""`signoff stats`: approval health per rule and per reviewer, on a history with hand-computed figures."""

from __future__ import annotations

import json

import pytest

from signoff.stats import approval_health
from signoff_app import cli
from tests.history import START, History

LONG = {"to": "a@acme.com", "body": "x" * 500}


def seeded(connection) -> History:  # type: ignore[no-untyped-def]
    h = History()
    # Held before the window: its decision inside the window is left out (its wait is unknown).
    h.held("old", -60, rule="emails")
    h.decided("old", 30, "approved", "slack:U0ALICE")
    # Rule `emails`: six held, five decided.
    h.held("a1", 100, rule="emails")
    h.decided("a1", 102, "approved", "slack:U0ALICE")
    h.held("a2", 200, rule="emails", params=LONG)
    h.decided("a2", 203, "approved", "slack:U0ALICE")
    h.held("a3", 300, rule="emails")
    h.decided("a3", 360, "edited_and_approved", "slack:U0BOB")
    h.held("a4", 400, rule="emails")
    h.add(405, "a4", "reminded", "policy:deadline")
    h.decided("a4", 410, "rejected", "slack:U0BOB")
    h.held("a5", 500, rule="emails")
    h.decided("a5", 4100, "expired", "policy:deadline")
    h.held("a6", 600, rule="emails")  # still waiting
    # Rule `refunds`: three approved by Carol; one later flagged, one later undone.
    for n, wait in ((1, 20), (2, 40), (3, 100)):
        h.held(f"r{n}", 1000 * n, rule="refunds", type="issue_refund", params={"amount": 10 * n})
        h.decided(f"r{n}", 1000 * n + wait, "approved", "slack:U0CAROL")
    h.add(5000, "r1", "flagged", "slack:U0BOB")
    h.add(5100, "u1", "requested", "slack:U0BOB", type="undo_refund", params_after={"action_id": "r2"},
          note="Undo of issue_refund r2, flagged by slack:U0BOB")
    h.ran_alone("x1", 6000)
    h.write(connection)
    return h


def test_rule_figures_equal_the_hand_computed_ones(rt) -> None:  # type: ignore[no-untyped-def]
    seeded(rt.connection)
    rules = {r["rule"]: r for r in approval_health(rt.connection, since=START).figures()["rules"]}
    assert rules["emails"] == {
        "rule": "emails", "requests": 6, "decided": 5,
        "approved": 0.4, "edited": 0.2, "rejected": 0.2, "expired": 0.2,
        "median_seconds": 6.5,  # people's decisions took 2, 3, 60 and 10 s
        "p90_seconds": 60.0,
        "glance": 0.5,  # 2 and 3 s: under 5 s
        "glance_long": 0.25,  # a2's message is over 400 characters
        "after_reminder": 0.2,  # a4 was decided after its reminder
    }
    assert rules["refunds"]["requests"] == 3
    assert rules["refunds"]["approved"] == 1.0
    assert (rules["refunds"]["median_seconds"], rules["refunds"]["p90_seconds"]) == (40.0, 100.0)
    assert set(rules) == {"emails", "refunds"}  # the action that ran alone is not a rule's request


def test_reviewer_figures_equal_the_hand_computed_ones(rt) -> None:  # type: ignore[no-untyped-def]
    seeded(rt.connection)
    people = {r["reviewer"]: r for r in approval_health(rt.connection, since=START).figures()["reviewers"]}
    assert people["slack:U0ALICE"] == {"reviewer": "slack:U0ALICE", "decisions": 2, "approvals": 2,
                                       "median_seconds": 2.5, "glance": 1.0, "long_glance_approvals": 0.5,
                                       "flagged_or_undone": 0.0}
    assert people["slack:U0BOB"] == {"reviewer": "slack:U0BOB", "decisions": 2, "approvals": 1,
                                     "median_seconds": 35.0, "glance": 0.0, "long_glance_approvals": 0.0,
                                     "flagged_or_undone": 0.0}
    assert people["slack:U0CAROL"]["flagged_or_undone"] == pytest.approx(2 / 3)  # r1 flagged, r2 undone
    assert "policy:deadline" not in people


def test_only_the_rule_asked_about(rt) -> None:  # type: ignore[no-untyped-def]
    seeded(rt.connection)
    health = approval_health(rt.connection, since=START, rule="refunds")
    assert list(health.rules) == ["refunds"]
    assert set(health.reviewers) == {"slack:U0CAROL"}


def _stamped(h: History, rule: str, count: int, edited: int = 0) -> History:
    for n in range(count):
        h.held(f"{rule}{n}", n * 100, rule=rule)
        h.decided(f"{rule}{n}", n * 100 + 30, "edited_and_approved" if n < edited else "approved", "slack:U0DAN")
    return h


def test_a_rule_approved_as_asked_98_percent_of_50_times_is_named(rt) -> None:  # type: ignore[no-untyped-def]
    h = _stamped(History(), "stamped", 50, edited=1)  # 49 of 50 = 98 %
    _stamped(h, "fewer", 49)  # every one approved, but too few to judge
    _stamped(h, "read", 50, edited=2).write(rt.connection)  # 96 %
    warnings = approval_health(rt.connection, since=START).warnings()
    assert [(w.about, w.name) for w in warnings] == [("rule", "stamped")]
    assert "49 of 50 decisions were plain approvals (98%)" in warnings[0].text
    assert "signoff policy suggest" in warnings[0].advice


def test_a_reviewer_glancing_at_long_messages_is_named(rt) -> None:  # type: ignore[no-untyped-def]
    h = History()
    for n in range(20):  # 11 of 20 approvals: long messages decided in 2 s
        h.held(f"g{n}", n * 100, rule=f"rule{n}", params=LONG if n < 11 else None)
        h.decided(f"g{n}", n * 100 + (2 if n < 11 else 30), "approved", "slack:U0EVE")
    for n in range(20):  # fast, but the messages are short: a glance is enough
        h.held(f"s{n}", 5000 + n * 100, rule=f"rule{n}")
        h.decided(f"s{n}", 5000 + n * 100 + 2, "approved", "slack:U0FAY")
    h.write(rt.connection)
    warnings = approval_health(rt.connection, since=START).warnings()
    assert [(w.about, w.name) for w in warnings] == [("reviewer", "slack:U0EVE")]
    assert "11 of 20 approvals were of long messages, decided in under 5 s" in warnings[0].text


def test_signoff_stats_prints_the_figures_and_warnings(rt, capsys) -> None:  # type: ignore[no-untyped-def]
    _stamped(History(), "stamped", 60).write(rt.connection)
    assert cli.main(["stats", "--since", START.isoformat()]) == 0
    text = capsys.readouterr().out
    assert "stamped" in text and "Rubber-stamp warnings:" in text and "60 of 60 decisions" in text
    assert cli.main(["stats", "--since", START.isoformat(), "--json", "--rule", "stamped"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rules"][0]["requests"] == 60 and data["warnings"][0]["name"] == "stamped"


def test_an_action_id_with_a_quote_is_still_read_right(rt) -> None:  # type: ignore[no-untyped-def]
    h = History()
    h.held('odd"id', 10, rule="emails")
    h.decided('odd"id', 14, "approved", "slack:U0ALICE")
    h.write(rt.connection)
    [rule] = approval_health(rt.connection, since=START).figures()["rules"]
    assert (rule["requests"], rule["approved"], rule["median_seconds"]) == (1, 1.0, 4.0)


def test_one_person_written_two_ways_is_one_reviewer(rt) -> None:  # type: ignore[no-untyped-def]
    h = History()
    h.held("s1", 100, rule="emails")
    h.decided("s1", 130, "approved", "slack:U0ALICE")  # a click in Slack
    h.held("s2", 200, rule="emails")
    h.decided("s2", 230, "approved", "U0ALICE")  # `signoff approve --by U0ALICE`
    h.write(rt.connection)
    reviewers = approval_health(rt.connection, since=START).figures()["reviewers"]
    assert [(r["reviewer"], r["decisions"]) for r in reviewers] == [("slack:U0ALICE", 2)]


def test_friction_shows_the_glance_share_before_and_after(rt, capsys) -> None:  # type: ignore[no-untyped-def]
    h = History()
    # Before `confirm: typed`: three of four approvals at a glance. After: one of five.
    for n, wait in enumerate((1, 2, 3, 30)):
        h.held(f"b{n}", 100 * n, rule="big-refunds", type="issue_refund", params={"amount": 900})
        h.decided(f"b{n}", 100 * n + wait, "approved", "slack:U0ALICE")
    for n, wait in enumerate((4, 12, 20, 8, 40)):
        h.held(f"t{n}", 1000 + 100 * n, rule="big-refunds", type="issue_refund", params={"amount": 900},
               friction="typed")
        h.decided(f"t{n}", 1000 + 100 * n + wait, "approved", "slack:U0ALICE")
    h.write(rt.connection)
    rules = {r["rule"]: r for r in approval_health(rt.connection, since=START).figures()["rules"]}
    assert rules["big-refunds"]["friction"] == {"before": {"decisions": 4, "glance": 0.75},
                                                "after": {"decisions": 5, "glance": 0.2}}
    assert cli.main(["stats", "--since", START.isoformat()]) == 0
    assert "big-refunds: 75% of 4 → 20% of 5" in capsys.readouterr().out
