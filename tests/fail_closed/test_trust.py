"""Whoever can write to Redis can ask, but cannot approve, re-route, or run code of their choosing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rq import Queue

from signoff import NotAllowed, Signoff, SignoffError, Status, lifecycle
from signoff.catalog import ActionType
from signoff.config import Settings
from signoff.models import AuditEvent
from signoff.runtime import Runtime
from tests.actions import send_email
from tests.helpers import wait_status

ROOT = Path(__file__).resolve().parents[2]


def _pending_email(rt: Runtime) -> str:
    ticket = send_email.request(to="sarah@client.com", subject="Q3", body="b", agent="finance-bot", reason="r")
    wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    return ticket.id


def _agent_runtime(rt: Runtime) -> Runtime:
    """An agent's process: the same Redis, but not the key that signs decisions."""
    return Runtime(connection=rt.connection, settings=Settings(decision_key=None))


def test_an_agent_without_the_decision_key_cannot_decide(rt, worker) -> None:
    action_id = _pending_email(rt)
    agent = Signoff(connection=rt.connection, settings=Settings(decision_key=None))
    with pytest.raises(SignoffError, match="SIGNOFF_DECISION_KEY is not set"):
        agent.decide(action_id, "approve", by="slack:U0ALICE")
    assert rt.store.get(action_id).status == Status.PENDING_APPROVAL
    assert [e.step for e in agent.audit(action_id=action_id)] == ["requested", "held"]


def test_an_approval_forged_in_redis_never_runs_and_goes_back_to_a_person(rt, worker) -> None:
    action_id = _pending_email(rt)
    # What an agent with Redis access can do: write the approval itself, and queue the run job.
    forged = rt.store.transition(action_id, Status.APPROVED, allowed_from={Status.PENDING_APPROVAL},
                                 changes={"decided_by": "slack:U0ALICE"},
                                 event=AuditEvent(action_id=action_id, step="approved", actor="slack:U0ALICE"))
    lifecycle.release_run_job(rt, forged)
    held = wait_status(rt, action_id, Status.PENDING_APPROVAL, timeout=20)
    assert held.decided_by is None and held.version == 2
    assert "an approval was refused before it ran (its approval's signature does not verify" in held.risk[-1]
    assert rt.connection.llen("test:sent") == 0
    # A real decision still goes through.
    Signoff(connection=rt.connection).decide(action_id, "approve", by="slack:U0BOB")
    assert wait_status(rt, action_id, Status.SUCCEEDED).decided_by == "slack:U0BOB"
    assert rt.connection.llen("test:sent") == 1


def test_an_edit_forged_after_the_approval_does_not_run(rt, worker) -> None:
    from signoff import door

    action_id = _pending_email(rt)
    wait_status(rt, action_id, Status.PENDING_APPROVAL)
    approved = lifecycle.decide(rt, action_id, "approve", by="slack:U0BOB", follow_up=False)
    assert approved.signature and door.refusals(rt, approved) == []
    # Changing the signed parameters afterwards (e.g. before a retry) voids the signature.
    forged = approved.model_copy(update={"params": {**approved.params, "to": "attacker@evil.com"}})
    assert door.refusals(rt, forged) == ["its approval's signature does not verify for the action as it now stands"]


def test_a_category_rewritten_by_a_client_does_not_change_the_route(rt, worker) -> None:
    # The default policy holds external communications; a client claims send_email is internal.
    wait_status(rt, _pending_email(rt), Status.PENDING_APPROVAL)
    lying = ActionType.model_validate({**send_email.action_type.model_dump(), "category": "internal"})
    rt.connection.hset("signoff:types", "send_email", lying.model_dump_json())
    action = lifecycle.request(_agent_runtime(rt), lying, {"to": "bob@client.com", "subject": "s", "body": "b"},
                               agent="sneaky-bot", reason="r")
    held = wait_status(rt, action.id, Status.PENDING_APPROVAL)
    assert (held.category, held.rule) == ("external_communication", "external-communications")
    assert rt.connection.llen("test:sent") == 0


def test_a_client_declaration_that_differs_from_the_workers_is_refused(rt, worker) -> None:
    from pydantic import BaseModel

    wait_status(rt, _pending_email(rt), Status.PENDING_APPROVAL)  # the worker has published its types by now

    class Loose(BaseModel):
        to: str

    with pytest.raises(SignoffError, match=r"registered by Signoff's workers .* differs in category"):
        Signoff(connection=rt.connection).declare("send_email", params=Loose, category="internal")


def test_a_type_naming_any_function_runs_nothing(rt, worker, tmp_path) -> None:
    marker = tmp_path / "pwned"
    evil = ActionType(name="shell", category="internal", func="os.system",
                      params_schema={"properties": {"command": {"type": "string"}}, "required": ["command"]})
    action = lifecycle.request(_agent_runtime(rt), evil, {"command": f"touch {marker}"}, agent="evil", reason="r")
    failed = wait_status(rt, action.id, Status.FAILED)
    assert "no function for action type 'shell'" in (failed.error or "")
    assert not marker.exists()


def test_rq_jobs_naming_other_functions_or_pickled_payloads_run_nothing(rt, worker, tmp_path) -> None:
    from rq.serializers import JSONSerializer

    json_marker, pickle_marker = tmp_path / "json", tmp_path / "pickle"
    Queue("signoff", connection=rt.connection, serializer=JSONSerializer).enqueue("os.system", f"touch {json_marker}")

    class Payload:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (os.system, (f"touch {pickle_marker}",))

    Queue("signoff", connection=rt.connection).enqueue("builtins.print", Payload())  # pickled, as RQ's default
    # A real action after them proves the worker took both and is still alive.
    after = send_email.request(to="ann@client.com", subject="s", body="b", agent="bot", reason="r")
    wait_status(rt, after.id, Status.PENDING_APPROVAL)
    assert not json_marker.exists() and not pickle_marker.exists()


def test_self_approval_compares_people_not_strings(rt, worker) -> None:
    action = lifecycle.request(rt, send_email.action_type, {"to": "a@client.com", "subject": "s", "body": "b"},
                               agent="bot", reason="r", submitted_by="U0BOB")
    wait_status(rt, action.id, Status.PENDING_APPROVAL)
    for same_person in ("slack:U0BOB", " U0BOB", "slack: U0BOB"):
        with pytest.raises(NotAllowed):
            Signoff(connection=rt.connection).decide(action.id, "approve", by=same_person)


def test_a_worker_without_the_key_refuses_to_start(rt) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SIGNOFF_DECISION_KEY"}
    done = subprocess.run([sys.executable, "-m", "signoff_app.cli", "worker", "--burst"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("error: SIGNOFF_DECISION_KEY is not set")


def test_the_cli_refuses_to_approve_without_the_key(rt, worker) -> None:
    action_id = _pending_email(rt)
    env = {k: v for k, v in os.environ.items() if k != "SIGNOFF_DECISION_KEY"}
    done = subprocess.run([sys.executable, "-m", "signoff_app.cli", "approve", action_id, "--by", "alice"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr.count("\n")) == (1, 1)
    assert done.stderr.startswith("error: SIGNOFF_DECISION_KEY is not set")
