"""The `signoff` command line, run as a real process against the test Redis."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

from signoff import Status
from tests.actions import issue_refund
from tests.conftest import ROOT
from tests.helpers import sandbox_process, wait_status


def signoff(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "signoff_app.cli", *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_submit_wait_and_approve_from_the_cli(rt, worker) -> None:
    issue_refund.signoff.register()
    submitted = json.loads(signoff("--json", "submit", "issue_refund", "-p", "customer_id=c9", "-p", "amount=250",
                                   "--agent", "support-bot", "--reason", "late delivery").stdout)
    issue_refund.request(customer_id="c0", amount=1, agent="a", reason="r")  # a second, to list
    action = wait_status(rt, submitted["id"], Status.PENDING_APPROVAL)
    assert action.params == {"customer_id": "c9", "amount": 250.0, "currency": "USD"}

    listed = signoff("list", "--status", "pending_approval").stdout
    assert submitted["id"] in listed and "issue_refund" in listed
    header, *rows = listed.splitlines()
    assert header.split() == ["ID", "STATUS", "TYPE", "AGENT", "CREATED", "RULE"]
    assert header.index("STATUS") == rows[0].index("pending_approval")  # the names sit above their columns
    shown = signoff("show", submitted["id"]).stdout
    assert "reason:     late delivery" in shown and "rule:       money (approve)" in shown
    assert json.loads(signoff("show", submitted["id"], "--json").stdout)["status"] == "pending_approval"

    approved = signoff("approve", submitted["id"], "--by", "alice", "--note", "ok", "-p", "amount=200").stdout
    assert approved.strip() == f"{submitted['id']} approved by alice"
    outcome = rt.store.wait_settled(submitted["id"], 20)
    assert (outcome.status, outcome.params["amount"], outcome.original_params["amount"]) == (
        Status.SUCCEEDED, 200.0, 250.0)


def test_cli_errors_are_one_clear_line_and_exit_non_zero(rt) -> None:
    issue_refund.request(customer_id="c0", amount=1, agent="a", reason="r")
    bad = signoff("submit", "issue_refund", "-p", "amount=lots", "--agent", "a", "--reason", "r", check=False)
    assert bad.returncode == 1
    assert bad.stderr.strip() == ("error: invalid parameters for 'issue_refund': customer_id: is required; "
                                  "amount: Input should be a valid number, unable to parse string as a number")
    missing = signoff("show", "nope", check=False)
    assert (missing.returncode, missing.stderr.strip()) == (1, "error: no action with id 'nope'")


def test_reject_then_a_second_decision_is_refused(rt, worker) -> None:
    ticket = issue_refund.request(customer_id="c0", amount=80, agent="a", reason="r")
    wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    signoff("reject", ticket.id, "--by", "bob", "--note", "duplicate")
    again = signoff("approve", ticket.id, "--by", "carol", check=False)
    assert again.returncode == 1 and "error: already decided by bob at " in again.stderr
    assert ticket.wait(5).note == "duplicate"


def test_audit_exports_every_step_as_jsonl_and_csv(rt, worker) -> None:
    ticket = issue_refund.request(customer_id="c1", amount=70, agent="support-bot", reason="r")
    wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    signoff("approve", ticket.id, "--by", "alice", "-p", "amount=60")
    rt.store.wait_settled(ticket.id, 20)
    events = [json.loads(line) for line in signoff("audit", "--since", "1h", "--action", ticket.id).stdout.splitlines()]
    assert [(e["step"], e["actor"]) for e in events] == [
        ("requested", "agent:support-bot"), ("held", "policy:money"), ("edited_and_approved", "alice"),
        ("started", events[3]["actor"]), ("succeeded", "worker")]
    edit = events[2]
    assert (edit["params_before"]["amount"], edit["params_after"]["amount"]) == (70.0, 60.0)
    assert (edit["status_from"], edit["status_to"]) == ("pending_approval", "approved")
    rows = list(csv.DictReader(io.StringIO(signoff("audit", "--format", "csv", "--action", ticket.id).stdout)))
    assert [r["step"] for r in rows] == [e["step"] for e in events]


def test_policy_check_and_explain(tmp_path) -> None:
    good = signoff("policy", "check", str(ROOT / "policies" / "default.yml")).stdout
    assert good.strip().endswith("default.yml: ok, 3 rules")
    bad_file = tmp_path / "bad.yml"
    bad_file.write_text("rules:\n  - name: x\n    mode: maybe\n")
    bad = signoff("policy", "check", str(bad_file), check=False)
    assert bad.returncode == 1 and f"{bad_file}:3: rules.0.mode: Input should be" in bad.stderr
    explained = signoff("policy", "explain", "--policy", "default", "--type", "issue_refund",
                        "--category", "financial", "--params", '{"customer_id": "c1", "amount": 5}').stdout
    assert explained.splitlines()[1] == "=> money (approve): matches: all criteria hold"


def test_policy_explain_checks_the_parameters_as_a_request_would(rt) -> None:
    issue_refund.signoff.register()
    done = signoff("policy", "explain", "--type", "issue_refund", "--params", '{"customer_id": "c1", "amount": "lots"}',
                   check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: invalid parameters for 'issue_refund': amount:")


def test_usage_errors_are_one_line_with_exit_status_2() -> None:
    for args in (["approve"], ["nonsense"], ["list", "--status", "maybe"]):
        done = signoff(*args, check=False)
        assert done.returncode == 2 and done.stdout == ""
        [line] = done.stderr.strip().splitlines()
        assert line.startswith("error: signoff") and "--help" in line


def test_list_and_show_stay_readable_whatever_the_values(rt, worker) -> None:
    long_agent = "a" * 3000
    ticket = issue_refund.request(customer_id="c" * 120_000, amount=5, agent=long_agent, reason="r")
    wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    [line] = [row for row in signoff("list").stdout.splitlines() if ticket.id in row]
    assert len(line) < 200  # the agent's name is cut to its column
    shown = signoff("show", ticket.id).stdout
    assert len(shown) < 10_000 and "more characters: --full shows all" in shown
    assert "c" * 120_000 in signoff("show", ticket.id, "--full").stdout
    # A reader that stops early (`| head`) is no error: no traceback.
    piped = subprocess.run(f"{sys.executable} -m signoff_app.cli --json list | head -c 10", shell=True, cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert piped.stderr == "" and len(piped.stdout) == 10


def test_the_bot_starts_without_bolts_token_warning(bot) -> None:
    # Bolt reads SLACK_BOT_TOKEN itself and used to warn on every start that our client wins.
    assert not any("will be unused" in line or "will be ignored" in line for line in bot.log)


def test_socket_mode_needs_no_signing_secret_and_says_in_one_line_when_slack_is_unreachable() -> None:
    env = {k: v for k, v in os.environ.items() if k != "SLACK_SIGNING_SECRET"}
    env.update(SLACK_APP_TOKEN="xapp-1-test", SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL="http://127.0.0.1:9/api/")
    done = subprocess.run([sys.executable, "-m", "signoff_app.cli", "bot", "--socket"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=90)
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 1 and "Traceback" not in done.stderr and "SLACK_SIGNING_SECRET" not in done.stderr
    assert errors == [errors[0]] and "cannot reach Slack at http://127.0.0.1:9/api/" in errors[0]


def _live_of(run: str) -> dict[int, str]:
    """Live processes started with SIGNOFF_TEST_RUN=run in their environment: pid -> command line."""
    found = {}
    for proc in Path("/proc").iterdir():
        try:
            if f"SIGNOFF_TEST_RUN={run}".encode() in (proc / "environ").read_bytes().split(b"\0"):
                found[int(proc.name)] = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError):
            continue  # not a process, gone meanwhile, or not ours to read
    return found


def _processes_of(run: str) -> list[str]:
    return list(_live_of(run).values())


def test_signoff_up_without_slack_says_that_approvals_would_wait_unseen() -> None:
    # Stopped at once, while it is still starting its children (three times: the moment varies):
    # it says what it would do, and leaves no process of its own behind.
    for _ in range(3):
        run = uuid.uuid4().hex
        env = {**{k: v for k, v in os.environ.items() if k != "SLACK_BOT_TOKEN"}, "SIGNOFF_TEST_RUN": run}
        up = subprocess.Popen([sys.executable, "-m", "signoff_app.cli", "up"], cwd=ROOT, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            assert up.stdout is not None
            said = [up.stdout.readline() for _ in range(3)]  # blocks on the process's own output
        finally:
            os.killpg(up.pid, signal.SIGTERM)
            up.wait(timeout=30)
        assert said[0].startswith("Signoff is up.")
        assert "SLACK_BOT_TOKEN is unset" in said[1] and "wait unseen" in said[1] and "make run" in said[2]
        assert _processes_of(run) == []


def test_a_stack_killed_outright_takes_its_processes_with_it() -> None:
    # A supervisor killed with SIGKILL (the OOM killer, `kill -9`) cannot stop its children: each ends by
    # itself then, rather than a worker from an old deploy going on taking jobs.
    run = uuid.uuid4().hex
    env = {**{k: v for k, v in os.environ.items() if k != "SLACK_BOT_TOKEN"}, "SIGNOFF_TEST_RUN": run,
           "SIGNOFF_LOG_LEVEL": "info"}
    up = subprocess.Popen([sys.executable, "-m", "signoff_app.cli", "up"], cwd=ROOT, env=env, text=True,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        assert up.stderr is not None
        for line in up.stderr:  # blocks on the stack's own log until its worker listens
            if "*** Listening on" in line:
                break
        assert len(_processes_of(run)) >= 3  # the supervisor, its worker and its scheduler
        os.kill(up.pid, signal.SIGKILL)
        up.wait(timeout=10)
        # The log pipe ends once every process holding it has exited: the children too.
        rest = threading.Thread(target=up.stderr.read, daemon=True)
        rest.start()
        rest.join(timeout=60)
        assert not rest.is_alive(), f"still running: {_processes_of(run)}"
        assert _processes_of(run) == []
    finally:
        for pid in _live_of(run):  # whatever the test found left behind goes now, not with the next test
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_show_tells_the_deadline_the_escalation_level_and_the_votes(rt, workers, policy_file) -> None:
    workers.start(policy=policy_file(
        "rules:\n  - name: money\n    match: {category: financial}\n    mode: approve\n    approvals: 2\n"
        "    deadline: 2h\n  - name: rest\n    mode: auto\n"))
    ticket = issue_refund.request(customer_id="c1", amount=5, agent="support-bot", reason="late")
    wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    signoff("approve", ticket.id, "--by", "alice")
    shown = signoff("show", ticket.id).stdout
    assert "  deadline:   " in shown and "(then: expire)" in shown
    assert "  approvals:  alice (1 of 2 needed)" in shown


def test_make_run_on_a_taken_port_says_so_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = signoff("sandbox", "--port", str(port), "--no-agent", check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert f"port {port} is taken" in line and "make run PORT=8090" in line


def test_the_sandbox_prints_what_another_terminal_needs_to_reach_its_slack(rt) -> None:
    with sandbox_process() as (box, _port):
        assert box.stdout is not None
        exports = next(line for line in box.stdout if line.strip().startswith("export "))  # blocks on its output
        env = dict(pair.split("=", 1) for pair in exports.split()[1:])
        sent = subprocess.run([sys.executable, "-m", "signoff_app.cli", "digest", "--team", "support-leads"], cwd=ROOT,
                              env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
        assert sent.returncode == 0 and "sent to" in sent.stdout, sent.stderr


def test_ctrl_c_stops_signoff_up_quietly_and_in_order() -> None:
    env = {**{k: v for k, v in os.environ.items() if k != "SLACK_BOT_TOKEN"}, "SIGNOFF_LOG_LEVEL": "info"}
    up = subprocess.Popen([sys.executable, "-m", "signoff_app.cli", "up"], cwd=ROOT, env=env, text=True,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        assert up.stderr is not None
        before = []
        for line in up.stderr:  # blocks on the stack's own log until its worker listens
            before.append(line)
            if "*** Listening on" in line:
                break
        up.send_signal(signal.SIGINT)  # what Ctrl-C sends: to `signoff up` alone, not to its children
        _, after = up.communicate(timeout=60)
    finally:
        os.killpg(up.pid, signal.SIGKILL) if up.poll() is None else None
    log = "".join(before) + after
    assert up.returncode == 0
    problem = next((log.find(mark) for mark in ("Traceback", "Logging error", '"level": "warning"') if mark in log), -1)
    assert problem == -1, log[max(problem - 500, 0):problem + 3000]  # what went wrong, whole, if anything did
    stopped = [json.loads(line)["process"] for line in after.splitlines() if '"event": "stopped"' in line]
    assert stopped == ["scheduler", "worker-1"]  # the last started stops first


def test_a_command_run_where_no_signoff_runs_says_so_and_starts_no_redis(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    done = subprocess.run([sys.executable, "-m", "signoff_app.cli", "list"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={**env, "SIGNOFF_DATA_DIR": str(tmp_path / "elsewhere")})
    assert done.returncode == 1 and "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "no Signoff is running in" in line and "REDIS_URL" in line
    assert not (tmp_path / "elsewhere").exists()  # no stray redis-server, no empty data directory
