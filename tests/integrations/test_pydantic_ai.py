"""Pydantic AI: `requires_approval` tools decided in Slack; the run resumes in a worker process."""

from __future__ import annotations

import asyncio
import os

from signoff import Status
from signoff.runs import Run
from tests.agents.common import runs_recorded
from tests.agents.pydantic_refunds import gate
from tests.helpers import advance, wait_status
from tests.integrations.conftest import approve, edit, reject

MODULE = "tests.agents.pydantic_refunds"


def _paused(rt) -> tuple[Run, str]:  # type: ignore[no-untyped-def]
    run = asyncio.run(gate.run("Refund cus_1 for the late delivery"))
    assert run.status == "paused"
    action = wait_status(rt, run.calls["call_r"], Status.PENDING_APPROVAL)
    assert (action.type, action.params, action.category) == ("refund", {"customer": "cus_1", "amount": 30.0},
                                                              "financial")
    assert runs_recorded(rt.connection) == []
    return run, action.id


def test_approved_runs_once_in_a_worker(rt, sandbox, bot, agent_worker) -> None:
    agent_worker(MODULE)
    run, action_id = _paused(rt)
    approve(sandbox, action_id)
    done = gate.wait(run.id, timeout=30)
    assert (done.status, done.output) == ("finished", "Tool said: refunded 30 to cus_1")
    [ran] = runs_recorded(rt.connection)
    assert ran["pid"] != os.getpid()


def test_edited_runs_with_the_edit_and_the_model_is_told(rt, sandbox, bot, agent_worker) -> None:
    agent_worker(MODULE)
    run, action_id = _paused(rt)
    edit(sandbox, action_id, {"customer": "cus_1", "amount": "20"})
    done = gate.wait(run.id, timeout=30)
    assert [r["args"] for r in runs_recorded(rt.connection)] == [{"customer": "cus_1", "amount": 20.0}]
    assert done.output.startswith("Tool said: refunded 20 to cus_1") and "edited the arguments" in done.output


def test_rejected_does_not_run_and_the_model_reads_the_note(rt, sandbox, bot, agent_worker) -> None:
    agent_worker(MODULE)
    run, action_id = _paused(rt)
    reject(sandbox, action_id, "Refunded last week already")
    done = gate.wait(run.id, timeout=30)
    assert done.output == "Tool said: A reviewer (slack:U0BOB) rejected this call: Refunded last week already"
    assert runs_recorded(rt.connection) == []


def test_an_expired_request_tells_the_model_it_expired(rt, agent_worker, policy_file) -> None:
    agent_worker(MODULE, policy=policy_file("rules:\n  - name: money\n    match: {category: financial}\n"
                                            "    mode: approve\n    deadline: 1h\n  - name: rest\n    mode: auto\n"))
    run, _ = _paused(rt)
    advance(rt, 2 * 3600)
    done = gate.wait(run.id, timeout=30)
    assert "did not run" in done.output and "deadline" in done.output
    assert runs_recorded(rt.connection) == []
