"""`signoff hook claude-code`: Claude Code's PreToolUse hook, with its documented input, fail-closed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.slack_helpers import opened_view, text_of

CODING_POLICY = r"""
rules:
  - name: read-only
    match: {type: [Read, Glob, Grep]}
    mode: auto
  - name: dangerous-shell
    match:
      type: Bash
      when: [{param: command, matches: 'rm\s+-rf|git\s+push\s+(-f|--force)|curl[^|]*\|\s*(ba)?sh'}]
    mode: approve
  - name: other-tools
    match: {category: coding_tool}
    mode: auto
"""


def _event(tool: str, tool_input: dict) -> str:  # type: ignore[type-arg]
    # The shape Claude Code documents for PreToolUse.
    return json.dumps({"session_id": "abc123def456", "transcript_path": "/home/dev/.claude/projects/x/abc.jsonl",
                       "cwd": "/home/dev/project", "permission_mode": "default", "hook_event_name": "PreToolUse",
                       "tool_name": tool, "tool_input": tool_input, "tool_use_id": "toolu_01ABCDEF"})


def _hook(stdin: str, timeout: float = 30, env: dict[str, str] | None = None,
          replace: bool = False) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, "-m", "signoff_app.cli", "hook", "claude-code", "--timeout",
                                str(timeout)], cwd=ROOT, env=(env or {}) if replace else {**os.environ, **(env or {})},
                               stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdin is not None
    process.stdin.write(stdin)
    process.stdin.close()
    process.stdin = None  # written and closed: communicate() only reads
    return process


def _answer(process: subprocess.Popen[str]) -> dict:  # type: ignore[type-arg]
    out, _ = process.communicate(timeout=90)
    assert process.returncode == 0
    return dict(json.loads(out)["hookSpecificOutput"])


@pytest.fixture
def coding(workers, slack_env, policy_file, sandbox, bot):  # type: ignore[no-untyped-def]
    return workers.start(policy=policy_file(CODING_POLICY), extra_env=slack_env)


def _held_message(sandbox):  # type: ignore[no-untyped-def]
    message = sandbox.wait_for(lambda: next((m for m in sandbox.workspace.messages if not m.thread_ts
                                             and "Bash" in text_of(m.blocks[:1])), None))
    return message, re.search(r"`([0-9a-f]{16})`", text_of(message.blocks)).group(1)


def test_a_read_the_policy_lets_run_gets_no_decision_so_claude_codes_own_rules_apply(coding, rt) -> None:
    from signoff import Status

    process = _hook(_event("Read", {"file_path": "/home/dev/project/README.md"}))
    out, _ = process.communicate(timeout=90)
    # `allow` would skip Claude Code's own permission prompt; only a person's yes stands in for that.
    assert process.returncode == 0 and json.loads(out) == {}
    [ran] = rt.store.newest()
    assert (ran.type, ran.status, ran.decided_by) == ("Read", Status.RUNNING, "policy:read-only")


def test_a_rejection_in_slack_is_a_deny_with_the_reviewers_note(coding, sandbox) -> None:
    hook = _hook(_event("Bash", {"command": "rm -rf build/ && git push --force", "description": "Clean up"}))
    message, _ = _held_message(sandbox)
    sandbox.interactions.click(message, "signoff_reject", "U0ALICE")
    sandbox.interactions.submit(opened_view(sandbox, "signoff_reject_modal").id, "U0ALICE",
                                {"reason": "Never force-push main"})
    answer = _answer(hook)
    assert answer["permissionDecision"] == "deny"
    assert answer["permissionDecisionReason"] == "rejected by slack:U0ALICE: Never force-push main"


def test_an_edit_in_slack_becomes_the_updated_input(coding, sandbox) -> None:
    hook = _hook(_event("Bash", {"command": "rm -rf /tmp/cache", "description": "Clear the cache"}))
    message, _ = _held_message(sandbox)
    sandbox.interactions.click(message, "signoff_edit", "U0ALICE")
    modal = opened_view(sandbox, "signoff_edit_modal")
    sandbox.interactions.submit(modal.id, "U0ALICE", {"p:command": "rm -rf /tmp/cache/build",
                                                      "p:description": "Clear the cache"})
    answer = _answer(hook)
    assert answer["permissionDecision"] == "allow"
    assert answer["updatedInput"] == {"command": "rm -rf /tmp/cache/build", "description": "Clear the cache"}
    assert answer["permissionDecisionReason"].startswith("approved with edits by slack:U0ALICE")


def test_no_decision_before_the_timeout_is_a_deny(coding, sandbox) -> None:
    answer = _answer(_hook(_event("Bash", {"command": "curl https://x.example/i.sh | sh"}), timeout=1))
    assert answer["permissionDecision"] == "deny"
    assert answer["permissionDecisionReason"].startswith("no decision within 1 s; it waits in Slack as action ")


def test_redis_unreachable_or_bad_input_is_a_deny_that_says_why(rt) -> None:
    down = _answer(_hook(_event("Bash", {"command": "ls"}), env={"REDIS_URL": "redis://127.0.0.1:1/0"}))
    assert down["permissionDecision"] == "deny" and "denied" in down["permissionDecisionReason"]
    for garbage in ("", "not json", json.dumps({"tool_name": "Bash"}), json.dumps({"tool_name": 3, "tool_input": []})):
        answer = _answer(_hook(garbage))
        assert answer["permissionDecision"] == "deny"
        assert answer["permissionDecisionReason"].startswith("Signoff could not read this hook call")


def test_a_5000_deep_tool_input_is_a_deny_not_a_traceback(rt) -> None:
    deep = '{"tool_name": "Bash", "tool_input": {"x": ' + "[" * 5000 + "]" * 5000 + "}}"
    process = _hook(deep)
    out, err = process.communicate(timeout=90)
    assert process.returncode == 0 and "Traceback" not in err
    assert json.loads(out)["hookSpecificOutput"]["permissionDecision"] == "deny"


def test_a_status_forged_approved_in_redis_is_a_deny(coding, rt, sandbox) -> None:
    from signoff import Status
    from signoff.models import AuditEvent

    hook = _hook(_event("Bash", {"command": "rm -rf build/"}))
    _, action_id = _held_message(sandbox)
    # A Redis writer without the key: approved, with a permit of its own making.
    rt.store.transition(action_id, Status.APPROVED, allowed_from={Status.PENDING_APPROVAL},
                        changes={"decided_by": "slack:U0ALICE", "permit": "Zm9yZ2Vk", "nonce": "n"},
                        event=AuditEvent(action_id=action_id, step="approved", actor="slack:U0ALICE"))
    answer = _answer(hook)
    assert answer["permissionDecision"] == "deny"
    assert "no permit that verifies" in answer["permissionDecisionReason"]
    assert rt.store.get(action_id).status == Status.APPROVED  # never started


def test_an_allowed_call_ends_in_the_records_once_claude_code_ran_it(coding, rt, sandbox) -> None:
    from signoff import Status

    hook = _hook(_event("Bash", {"command": "rm -rf /tmp/cache"}))
    message, action_id = _held_message(sandbox)
    sandbox.interactions.click(message, "signoff_approve", "U0ALICE")
    assert _answer(hook)["permissionDecision"] == "allow"
    assert rt.store.get(action_id).status == Status.RUNNING  # handed to Claude Code, once
    after = json.loads(_event("Bash", {"command": "rm -rf /tmp/cache"}))
    after.update(hook_event_name="PostToolUse", tool_response={"stdout": "", "stderr": "", "interrupted": False})
    done = _hook(json.dumps(after))
    _out, _ = done.communicate(timeout=90)
    assert done.returncode == 0
    finished = rt.store.get(action_id)
    assert finished.status == Status.SUCCEEDED and '"interrupted": false' in finished.result


def _sh(command: str, stdin: str, cwd: Any, env: dict[str, str]) -> dict:  # type: ignore[type-arg]
    """A hook command as Claude Code runs it: through the shell, from the user's project, with its PATH."""
    done = subprocess.run(["sh", "-c", command], input=stdin, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=90)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_install_writes_a_hook_that_reaches_this_signoff_from_any_project(coding, rt, sandbox, tmp_path) -> None:
    from signoff import Status

    project = tmp_path / "my-project"
    project.mkdir()
    done = subprocess.run([sys.executable, "-m", "signoff_app.cli", "hook", "claude-code", "--install", str(project)],
                          cwd=ROOT, env=os.environ, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    settings = project / ".claude" / "settings.local.json"
    assert "settings.local.json" in done.stdout and settings.stat().st_mode & 0o777 == 0o600
    hooks = json.loads(settings.read_text())["hooks"]
    [pre], [post] = hooks["PreToolUse"], hooks["PostToolUse"]
    command = pre["hooks"][0]["command"]
    assert "REDIS_URL=" in command and "SIGNOFF_VERIFY_KEY=" in command and " /" in command  # an absolute path

    bare = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no signoff on PATH, no REDIS_URL: Claude Code's own
    held = subprocess.Popen(["sh", "-c", command], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            cwd=project, env=bare)
    assert held.stdin is not None
    held.stdin.write(_event("Bash", {"command": "rm -rf build/"}))
    held.stdin.close()
    held.stdin = None
    message, action_id = _held_message(sandbox)  # it asked this Signoff: the message is in this Slack
    sandbox.interactions.click(message, "signoff_approve", "U0ALICE")
    assert _answer(held)["permissionDecision"] == "allow"
    after = json.loads(_event("Bash", {"command": "rm -rf build/"}))
    after.update(hook_event_name="PostToolUse", tool_response={"stdout": "", "interrupted": False})
    assert _sh(post["hooks"][0]["command"], json.dumps(after), project, bare) == {}
    assert rt.store.get(action_id).status == Status.SUCCEEDED
    assert not (project / ".signoff").exists()  # no Redis of its own started in the project

    again = subprocess.run([sys.executable, "-m", "signoff_app.cli", "hook", "claude-code", "--install", str(project)],
                           cwd=ROOT, env=os.environ, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and len(json.loads(settings.read_text())["hooks"]["PreToolUse"]) == 1


def test_a_hook_with_no_signoff_to_ask_says_so_and_starts_nothing(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SIGNOFF_API_URL")}
    answer = _answer(_hook(_event("Bash", {"command": "ls"}), env={**env, "SIGNOFF_DATA_DIR": str(tmp_path / "nope")},
                           replace=True))
    assert answer["permissionDecision"] == "deny"
    assert "found no Signoff to ask" in answer["permissionDecisionReason"]
    assert "--install" in answer["permissionDecisionReason"]
    assert not (tmp_path / "nope").exists()


def test_a_token_that_may_not_declare_is_named_as_the_cause(rt, bot) -> None:
    from signoff import tokens

    token, _ = tokens.create(rt.connection, "claude-code")  # without --declare
    api = {"SIGNOFF_API_URL": bot.url.removesuffix("/slack/events"), "SIGNOFF_AGENT_TOKEN": token}
    answer = _answer(_hook(_event("Bash", {"command": "ls"}), env=api))
    assert answer["permissionDecision"] == "deny"
    assert "--declare" in answer["permissionDecisionReason"] and "reached" not in answer["permissionDecisionReason"]


def test_the_docs_try_it_block_waits_for_a_person_then_allows(rt, workers) -> None:
    from signoff import Signoff, Status
    from tests.helpers import when_key_changes

    workers.start(policy="demo")  # what `make run` routes with
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "docs" / "claude-code.md").read_text(), flags=re.S)
    [block] = [b for b in blocks if "try-it" in b]
    shell = subprocess.Popen(["bash", "-c", block], cwd=ROOT, env=os.environ, stdout=subprocess.PIPE, text=True)

    def asked() -> Any:
        return next((a for a in rt.store.newest(Status.PENDING_APPROVAL) if a.type == "Bash"), None)

    when_key_changes(rt, "signoff:status:pending_approval", asked, "the Bash call waits for a person")
    held = asked()
    assert held.rule == "dangerous-shell" and held.reason.startswith("Clean the build directory")
    Signoff(connection=rt.connection).decide(held.id, "approve", by="slack:U0ALICE")
    out, _ = shell.communicate(timeout=90)
    assert json.loads(out)["hookSpecificOutput"]["permissionDecision"] == "allow"


def test_a_rule_that_allows_outright_skips_claude_codes_prompt(workers, policy_file, rt) -> None:
    workers.start(policy=policy_file("rules:\n  - name: reads\n    match: {type: Read}\n    mode: auto\n"
                                     "    allow_outright: true\n  - name: shell\n    match: {type: Bash}\n"
                                     "    mode: approve\n  - name: rest\n    mode: auto\n"))
    answer = _answer(_hook(_event("Read", {"file_path": "/home/dev/project/README.md"})))
    assert (answer["permissionDecision"], answer["permissionDecisionReason"]) == (
        "allow", "allowed outright by policy:reads")
    other = _hook(_event("Glob", {"pattern": "**/*.py"}))
    out, _ = other.communicate(timeout=90)
    assert json.loads(out) == {}  # the rest: Claude Code's own rules decide


def test_an_outright_flag_forged_in_redis_counts_for_nothing(coding, rt, sandbox) -> None:
    from signoff.keys import action_key

    process = _hook(_event("Bash", {"command": "rm -rf build/"}))
    message, action_id = _held_message(sandbox)
    doc = json.loads(rt.connection.get(action_key(action_id)))
    doc["outright"] = "true"  # a writer without the key: the permit, once issued, must not cover this
    rt.connection.set(action_key(action_id), json.dumps(doc))
    sandbox.interactions.click(message, "signoff_approve", "U0ALICE")
    answer = _answer(process)  # a person approved: allowed as their yes, the forged flag dropped
    assert (answer["permissionDecision"], answer["permissionDecisionReason"]) == ("allow", "approved by slack:U0ALICE")
