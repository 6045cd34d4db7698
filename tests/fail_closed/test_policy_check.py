"""Policy files that would quietly disable approval are refused, with the line and a hint."""

from __future__ import annotations

import subprocess
import sys

import pytest

from policies import PolicyError, parse_policy
from tests.conftest import ROOT


@pytest.mark.parametrize(("text", "message"), [
    ("rules: []\n", "no rule ever asks a person"),
    ("rules:\n  - {name: all, mode: auto}\n", "no rule ever asks a person"),
    ("rules:\n  - {name: mail, match: {category: external_comunication}, mode: approve}\n",
     "unknown category 'external_comunication'; did you mean 'external_communication'?"),
    ("rules:\n  - {name: all, mode: approve}\n  - {name: money, match: {category: financial}, mode: approve}\n",
     "rule 'money' can never match: rule 'all' before it matches every action"),
    ("rules:\n  - name: crm\n    mode: approve\n    outside_hours: {timezone: Mars/Olympus}\n",
     "'Mars/Olympus' is not a timezone"),
    ("rules:\n  - {name: r, mode: approve, approvers: {users: [alice]}}\n", "String should match pattern"),
    ("rules:\n  - {name: r, mode: approve, approvers: {groups: [U0ALICE]}}\n", "String should match pattern"),
    ("oncall: {finance: bob@acme.com}\nrules:\n  - {name: r, mode: approve}\n", "String should match pattern"),
])
def test_a_policy_that_would_let_actions_through_is_refused(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message.replace("?", r"\?").replace("(", r"\(")):
        parse_policy(text)


def test_saying_so_allows_a_policy_without_approvals_and_own_categories() -> None:
    parse_policy("allow_no_approval: true\nrules:\n  - {name: all, mode: auto}\n")
    parse_policy("categories: [hr_change]\nrules:\n  - {name: hr, match: {category: hr_change}, mode: approve}\n")


def test_check_and_worker_start_refuse_binary_files_in_one_line(tmp_path, workers) -> None:
    binary = tmp_path / "policy.yml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\rIHDR\xff\xfe")
    done = subprocess.run([sys.executable, "-m", "signoff_app.cli", "policy", "check", str(binary)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr == f"error: {binary}: not a policy file (binary, or not UTF-8 text at byte 8)\n"
    empty = tmp_path / "empty.yml"
    empty.write_text("rules: []\n")
    worker = workers.start(policy=str(empty))
    assert worker.wait(timeout=60) == 1  # a worker never starts on a policy that approves nothing


def test_check_warns_of_rules_naming_types_nobody_registered(rt, tmp_path) -> None:
    from tests.actions import send_email

    send_email.request(to="a@client.com", subject="s", body="b", agent="bot", reason="r")  # registers send_email
    policy = tmp_path / "p.yml"
    policy.write_text("rules:\n  - {name: mail, match: {type: send_mail}, mode: approve}\n")
    done = subprocess.run([sys.executable, "-m", "signoff_app.cli", "policy", "check", str(policy)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "warning: rule 'mail': no registered action type is called 'send_mail'; did you mean 'send_email'?" \
        in done.stderr
