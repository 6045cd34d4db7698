"""`signoff policy suggest`: rules the decision history suggests, as a diff a person reviews; never applied."""

from __future__ import annotations

from pathlib import Path

from policies import Subject, load_policy
from policies.engine import decide
from signoff_app import cli
from tests.history import START, History

POLICY = """\
# Our policy.
own_domains: [ours.example]

rules:
  # Mail that leaves the company.
  - name: external-communications
    match: {category: external_communication}
    mode: approve

  - name: money
    match: {category: financial}
    mode: approve
    no_allowances: true

  - name: records
    match: {type: update_crm}
    mode: approve

  - name: everything-else
    mode: auto
"""

EXPECTED = """\
--- {path}
+++ {path} (suggested)
@@ -2,15 +2,47 @@
 own_domains: [ours.example]
 \n rules:
+  # Suggested: `send_email` to `@acme.com` from `support-bot`: 25 approved, 0 edited, 0 rejected in 31 days → auto
+  - name: suggested-send_email-support-bot-acme.com
+    match:
+      type: send_email
+      agent: support-bot
+      when:
+      - param: to
+        matches: '@acme\\.com$'
+    mode: auto
+
   # Mail that leaves the company.
   - name: external-communications
     match: {{category: external_communication}}
     mode: approve
 \n+  # Suggested: `issue_refund` amount ≤ 25 from `refund-bot`: 21 approved, 0 edited, 0 rejected in 31 days → escalate with an amount outlier check
+  - name: suggested-issue_refund-refund-bot-upto-25
+    match:
+      type: issue_refund
+      agent: refund-bot
+      when:
+      - param: amount
+        le: 25
+    mode: escalate
+    unusual:
+      amount:
+        param: amount
+
   - name: money
     match: {{category: financial}}
     mode: approve
     no_allowances: true
+
+  # Suggested: `update_crm` from `crm-bot` held 100 times, approved in a median 2 s (99 approved, 0 edited, 1 rejected in 31 days) → batch, window 1h
+  - name: suggested-update_crm-crm-bot-batched
+    match:
+      type: update_crm
+      agent: crm-bot
+    mode: batch
+    batch:
+      window: 1h
 \n   - name: records
     match: {{type: update_crm}}
"""


def history() -> History:
    h = History()
    clock = 0.0
    for n in range(25):  # always approved as asked, always to acme.com
        h.held(f"e{n}", clock, rule="external-communications", agent="support-bot",
               params={"to": f"user{n}@acme.com", "subject": "hi"})
        h.decided(f"e{n}", clock + 30, "approved", "slack:U0ALICE")
        clock += 100
    for n in range(21):  # refunds of 5 to 25, always approved
        h.held(f"m{n}", clock, rule="money", type="issue_refund", agent="refund-bot",
               params={"amount": 5 + n, "currency": "USD"})
        h.decided(f"m{n}", clock + 60, "approved", "slack:U0BOB")
        clock += 100
    for n in range(100):  # decided at a glance, one rejected
        h.held(f"c{n}", clock, rule="records", type="update_crm", agent="crm-bot", params={"record_id": str(n)})
        h.decided(f"c{n}", clock + 2, "rejected" if n == 7 else "approved", "slack:U0CAROL")
        clock += 100
    for n in range(25):  # deletions: some rejected, read with care: nothing to suggest
        h.held(f"d{n}", clock, rule="records", type="delete_record", agent="ops-bot", params={"record_id": str(n)})
        h.decided(f"d{n}", clock + 40, "rejected" if n % 5 == 0 else "approved", "slack:U0CAROL")
        clock += 100
    return h


def test_suggestions_are_the_expected_diff_and_the_written_file_passes_check(rt, tmp_path: Path, capsys,
                                                                            monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(cli.cli_health, "_window", lambda since: "31 days")  # the window's length is today's
    history().write(rt.connection)
    policy = tmp_path / "policy.yml"
    policy.write_text(POLICY)
    suggested = tmp_path / "suggested.yml"

    assert cli.main(["policy", "suggest", "--policy", str(policy), "--since", START.isoformat(),
                     "--write", str(suggested)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(EXPECTED.format(path=policy)), out
    assert f"written to {suggested}" in out
    assert policy.read_text() == POLICY  # never applied

    assert cli.main(["policy", "check", str(suggested)]) == 0
    assert "ok, 7 rules" in capsys.readouterr().out
    rules = load_policy(str(suggested))
    usual = Subject("send_email", "external_communication", "support-bot", {"to": "new@acme.com"})
    other_domain = Subject("send_email", "external_communication", "support-bot", {"to": "x@evil.example"})
    other_agent = Subject("send_email", "external_communication", "sales-bot", {"to": "new@acme.com"})
    assert decide(rules, usual).rule.mode == "auto"
    assert decide(rules, other_domain).rule.name == "external-communications"
    assert decide(rules, other_agent).rule.name == "external-communications"


def test_no_history_no_suggestion(rt, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    policy = tmp_path / "policy.yml"
    policy.write_text(POLICY)
    assert cli.main(["policy", "suggest", "--policy", str(policy)]) == 0
    assert capsys.readouterr().out.startswith(f"No suggestions for {policy}")
    target = tmp_path / "suggested.yml"
    assert cli.main(["policy", "suggest", "--policy", str(policy), "--write", str(target)]) == 0
    assert "nothing written to" in capsys.readouterr().out and not target.exists()  # no unchanged copy


def test_recipients_given_as_lists_are_never_suggested_to_run(rt, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    h = History()
    for n in range(30):  # always approved, always acme.com, but as a list: a rule on it could not be evaluated
        h.held(f"l{n}", n * 100, rule="external-communications", agent="news-bot",
               params={"to": [f"a{n}@acme.com", f"b{n}@acme.com"]})
        h.decided(f"l{n}", n * 100 + 30, "approved", "slack:U0ALICE")
    h.write(rt.connection)
    policy = tmp_path / "policy.yml"
    policy.write_text(POLICY)
    assert cli.main(["policy", "suggest", "--policy", str(policy), "--since", START.isoformat()]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"No suggestions for {policy}"), out
