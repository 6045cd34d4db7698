"""OpenAI Agents SDK: `needs_approval` tools decided in Slack; the run resumes in a worker process."""

from __future__ import annotations

import asyncio
import os

from signoff import Status
from signoff.runs import Run
from tests.agents.common import runs_recorded
from tests.agents.openai_mailer import runner
from tests.helpers import wait_status
from tests.integrations.conftest import approve, edit, reject

MODULE = "tests.agents.openai_mailer"


def _paused(rt) -> tuple[Run, str]:  # type: ignore[no-untyped-def]
    run = asyncio.run(runner.run("Tell Sarah the invoice is late"))
    assert run.status == "paused" and list(run.calls) == ["call_mail"]
    action_id = run.calls["call_mail"]
    action = wait_status(rt, action_id, Status.PENDING_APPROVAL)
    assert (action.type, action.params) == ("email_customer", {"to": "sarah@client.com", "subject": "Invoice"})
    assert runs_recorded(rt.connection) == []  # nothing ran before a person said yes
    return run, action_id


def test_an_approved_call_runs_once_in_the_worker_that_resumes_the_run(rt, sandbox, bot, agent_worker) -> None:
    agent_worker(MODULE)
    run, action_id = _paused(rt)
    approve(sandbox, action_id)
    done = runner.wait(run.id, timeout=30)
    assert (done.status, done.output) == ("finished", "Tool said: sent to sarah@client.com")
    [ran] = runs_recorded(rt.connection)
    assert ran["args"] == {"to": "sarah@client.com", "subject": "Invoice"} and ran["pid"] != os.getpid()


def test_an_edited_call_runs_with_the_edit_and_the_model_is_told(rt, sandbox, bot, agent_worker) -> None:
    agent_worker(MODULE)
    run, action_id = _paused(rt)
    edit(sandbox, action_id, {"to": "billing@client.com", "subject": "Invoice"})
    done = runner.wait(run.id, timeout=30)
    assert [r["args"] for r in runs_recorded(rt.connection)] == [{"to": "billing@client.com", "subject": "Invoice"}]
    assert "edited the arguments" in done.output and "billing@client.com" in done.output


def test_a_rejected_call_does_not_run_and_the_model_reads_the_note(rt, sandbox, bot, agent_worker) -> None:
    agent_worker(MODULE)
    run, action_id = _paused(rt)
    reject(sandbox, action_id, "She already paid")
    done = runner.wait(run.id, timeout=30)
    assert done.status == "finished" and "She already paid" in done.output
    assert runs_recorded(rt.connection) == []


def test_a_call_the_policy_lets_run_costs_one_short_wait_and_runs_in_the_worker(rt, agent_worker) -> None:
    agent_worker(MODULE)
    run = asyncio.run(runner.run("Add a note to the account"))
    assert (run.status, run.output) == ("finished", "Tool said: noted")
    [action_id] = run.calls.values()  # asked like every call: the worker's policy let it through
    done = wait_status(rt, action_id, Status.SUCCEEDED)
    assert (done.decided_by, done.result) == ("policy:everything-else", "noted")  # its outcome, recorded
    [ran] = runs_recorded(rt.connection)
    assert ran["pid"] != os.getpid()  # never in the agent's process, on a local guess


def test_the_agents_process_never_routes_a_call_itself(rt, agent_worker, policy_file) -> None:
    # The worker's policy holds every tool call; the agent's process has the default one, which would run it.
    agent_worker(MODULE, policy=policy_file("rules:\n  - name: hold-all\n    mode: approve\n"))
    run = asyncio.run(runner.run("Add a note to the account"))
    assert run.status == "paused"
    [action_id] = run.calls.values()
    assert wait_status(rt, action_id, Status.PENDING_APPROVAL).rule == "hold-all"
    assert runs_recorded(rt.connection) == []


def test_an_approval_written_to_redis_without_a_signature_runs_nothing(rt, agent_worker) -> None:
    # An agent holding only Redis credentials marks its own call approved: the door sends it back to a person.
    from signoff import resumption
    from signoff.models import AuditEvent

    agent_worker(MODULE)
    run, action_id = _paused(rt)
    forged = rt.store.transition(action_id, Status.APPROVED, allowed_from={Status.PENDING_APPROVAL},
                                 changes={"decided_by": "slack:U0EVE"},
                                 event=AuditEvent(action_id=action_id, step="approved", actor="slack:U0EVE"))
    resumption.settled(rt, forged)
    held = wait_status(rt, action_id, Status.PENDING_APPROVAL)
    assert "refused before it ran" in held.risk[-1]
    assert runner.wait(run.id, timeout=0).status == "paused" and runs_recorded(rt.connection) == []
