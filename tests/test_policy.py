"""Policy files: validation with line numbers, matching, and the shipped defaults."""

from __future__ import annotations

import pytest

from policies import Subject, explain, first_match, load_policy, parse_policy
from signoff import PolicyError

POLICY = """\
own_domains: [acme.com]
rules:
  - name: big-refunds
    match:
      category: financial
      when:
        - {param: amount, gt: 500}
    mode: approve
    channel: "#finance-approvals"
  - name: external-mail
    match:
      type: send_email
      when:
        - {param: to, domain: external}
    mode: approve
  - name: regions
    match:
      when:
        - {param: region, in: [eu, uk]}
    mode: post_hoc
  - name: rest
    mode: auto
"""


def _rule(params: dict, type_: str = "x", category: str | None = None, agent: str = "bot") -> str:
    return first_match(parse_policy(POLICY), Subject(type_, category, agent, params)).name


def test_first_matching_rule_wins() -> None:
    assert _rule({"amount": 900}, category="financial") == "big-refunds"
    assert _rule({"amount": 100}, category="financial") == "rest"
    assert _rule({"to": "ann@client.com"}, type_="send_email") == "external-mail"
    assert _rule({"to": "ann@acme.com"}, type_="send_email") == "rest"
    assert _rule({"to": ["ann@acme.com", "bob@other.org"]}, type_="send_email") == "external-mail"
    assert _rule({"region": "eu"}) == "regions"


def test_explain_says_why_each_rule_does_or_does_not_match() -> None:
    checks = explain(parse_policy(POLICY), Subject("issue_refund", "financial", "bot", {"amount": 120}))
    assert [(c.rule.name, c.matched) for c in checks] == [
        ("big-refunds", False), ("external-mail", False), ("regions", False), ("rest", True)]
    assert checks[0].why == ["amount = 120, rule wants > 500"]
    assert checks[1].why == ["type is 'issue_refund', rule wants 'send_email'", "parameter 'to' is absent"]


def test_the_default_policy_holds_communications_and_money_and_runs_the_rest() -> None:
    policy = load_policy("default")
    decide = lambda category: first_match(policy, Subject("t", category, "a", {})).mode  # noqa: E731
    assert (decide("external_communication"), decide("financial"), decide("internal"), decide(None)) == (
        "approve", "approve", "auto", "auto")
    assert load_policy("approve_all").approve_everything is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules:\n  - name: a\n    mode: sometimes\n",
         "<policy>:3: rules.0.mode: Input should be 'auto', 'approve', 'batch', 'post_hoc' or 'escalate'"),
        ("rules:\n  - name: a\n    mode: auto\n  - name: b\n    mode: approve\n    match:\n      when:\n"
         "        - {param: amount}\n",
         "<policy>:8: rules.1.match.when.0: condition on 'amount' names no test"),
        ("rules:\n  - name: a\n    mode: auto\n    colour: blue\n",
         "<policy>:4: rules.0.colour: Extra inputs are not permitted"),
        ("rules:\n  - name: a\n    mode: approve\n    unusual: {amount: {param: x}}\n",
         "<policy>:2: rules.0: rule 'a': 'unusual' applies only to mode escalate"),
        ("runaway: {window: soon}\nrules: []\n",
         "<policy>:1: runaway.window: 'soon' is not a duration (use e.g. 90s, 15m, 2h, 1d)"),
        ("rules:\n  - name: a\n    mode: auto\n  - name: a\n    mode: auto\n",
         "<policy>:1: policy: two rules are named 'a'; names must be unique"),
        ("rules: [\n", "<policy>:2: not valid YAML"),
        ("- just a list\n", "<policy>:1: a policy is a mapping with a 'rules' list"),
    ],
)
def test_a_bad_policy_names_the_line_and_the_problem(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as error:
        parse_policy(text)
    assert str(error.value).startswith(message)


def test_a_missing_policy_file_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(PolicyError, match="cannot read policy file"):
        load_policy(str(tmp_path / "nope.yml"))


def test_the_critical_preset_holds_whatever_is_hard_to_take_back() -> None:
    policy = load_policy("critical")
    held = ("external_communication", "financial", "irreversible", "data_modification", "significant_decision")
    for category in held:
        assert first_match(policy, Subject("t", category, "bot", {})).mode == "approve", category
    assert first_match(policy, Subject("t", "internal", "bot", {})).mode == "auto"


def test_an_agents_burst_counts_one_window_and_its_key_lives_a_window_past_its_newest_slice(connection) -> None:
    from policies.rules import Runaway
    from policies.signals import Signals

    signals, runaway, key, start = Signals(connection), Runaway(window=60), "signoff:rate:bot", 1_000_000.0
    assert signals.count_burst("bot", runaway, now=start) == (1, None)
    connection.expire(key, 5)  # as if time had passed since the slice opened
    assert signals.count_burst("bot", runaway, now=start + 0.5) == (2, None)
    assert 0 < connection.ttl(key) <= 5  # the same slice: its expiry is not written again
    assert signals.count_burst("bot", runaway, now=start + 30) == (3, None)
    assert connection.ttl(key) > 55  # a new slice: a whole window from now
    assert signals.count_burst("bot", runaway, now=start + 61.5) == (2, None)  # the first second has left
