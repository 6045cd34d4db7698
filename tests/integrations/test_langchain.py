"""LangChain: HumanInTheLoopMiddleware interrupts decided in Slack; the graph resumes in a worker."""

from __future__ import annotations

import os

from signoff import Status
from tests.agents.common import runs_recorded
from tests.agents.langchain_records import gate
from tests.helpers import wait_status
from tests.integrations.conftest import ALICE, approve, edit
from tests.slack_helpers import text_of

MODULE = "tests.agents.langchain_records"
PROMPT = {"messages": [{"role": "user", "content": "Delete the stale record"}]}


def test_approved_deletion_runs_once_in_a_worker(rt, sandbox, bot, agent_worker) -> None:
    agent_worker(MODULE)
    run = gate.run(PROMPT)
    assert run.status == "paused"
    [action_id] = run.calls.values()
    assert wait_status(rt, action_id, Status.PENDING_APPROVAL).params == {"record_id": "r1"}
    approve(sandbox, action_id)
    done = gate.wait(run.id, timeout=30)
    assert (done.status, done.output) == ("finished", "Tools said: deleted r1")
    [ran] = runs_recorded(rt.connection)
    assert ran["pid"] != os.getpid()
    finished = rt.store.get(action_id)  # what the tool returned is the action's result, in Slack and the log
    assert (finished.status, finished.result) == (Status.SUCCEEDED, "deleted r1")


def test_edit_runs_the_edited_call_and_langchain_tells_the_model(rt, sandbox, bot, agent_worker) -> None:
    agent_worker(MODULE)
    run = gate.run(PROMPT)
    [action_id] = run.calls.values()
    edit(sandbox, action_id, {"record_id": "r9"})
    done = gate.wait(run.id, timeout=30)
    assert [r["args"] for r in runs_recorded(rt.connection)] == [{"record_id": "r9"}]
    assert "replaced this tool call" in done.output and "deleted r9" in done.output
    assert rt.store.get(action_id).result == "deleted r9"


def test_a_batched_interrupt_is_one_slack_message_and_each_call_is_decided_on_its_own(
        rt, sandbox, bot, agent_worker) -> None:
    agent_worker(MODULE)
    run = gate.run({"messages": [{"role": "user", "content": "Delete the two stale records"}]})
    first, second = sorted(run.calls)  # the interrupt's calls by position
    keep, drop = run.calls[first], run.calls[second]
    message = sandbox.wait_for(lambda: next((m for m in sandbox.workspace.messages
                                             if "Approve these 2 actions" in text_of(m.blocks)), None))
    assert keep in text_of(message.blocks) and drop in text_of(message.blocks)
    sandbox.interactions.click(message, "signoff_batch_review", ALICE)
    modal = sandbox.wait_for(lambda: next((v for v in sandbox.workspace.views.values()
                                           if v.view.get("callback_id") == "signoff_batch_review_modal"), None))
    sandbox.interactions.submit(modal.id, ALICE, {"items:0": [keep], "rest": "reject", "note": "Keep r2"})
    done = gate.wait(run.id, timeout=30)
    assert [r["args"] for r in runs_recorded(rt.connection)] == [{"record_id": "r1"}]
    assert "deleted r1" in done.output and "Keep r2" in done.output
    assert (rt.store.get(keep).result, rt.store.get(drop).status) == ("deleted r1", Status.REJECTED)
    assert len(sandbox.calls_to("chat.postMessage", ok=True)) == 1  # one message for the two calls
