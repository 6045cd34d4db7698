"""Races between decisions, stale versions, and workers killed mid-action."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import redis

from signoff import InvalidParams, Signoff, StaleVersion, Status, TransitionRefused
from signoff.lifecycle import ROUTE_JOB
from signoff.runtime import Runtime
from tests.actions import hang, hang_once, send_email
from tests.helpers import blpop_text, wait_status, when_key_changes
from workers.worker import recover_abandoned


def _pending_email(rt: Runtime) -> str:
    ticket = send_email.request(to="sarah@client.com", subject="Q3", body="b", agent="finance-bot", reason="r")
    wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    return ticket.id


def test_concurrent_decisions_leave_exactly_one_winner_and_one_run(rt, worker) -> None:
    action_id = _pending_email(rt)
    barrier = threading.Barrier(12)
    winners: list[str] = []
    refusals: list[str] = []

    def decide(n: int) -> None:
        signoff = Signoff(connection=redis.Redis.from_url(os.environ["REDIS_URL"]))
        barrier.wait()
        try:
            signoff.decide(action_id, "approve" if n % 2 else "reject", by=f"person-{n}", note="n")
            winners.append(f"person-{n}")
        except TransitionRefused as refused:
            refusals.append(str(refused))

    threads = [threading.Thread(target=decide, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1 and len(refusals) == 11
    final = rt.store.wait_for_status(action_id, {Status.SUCCEEDED, Status.REJECTED}, 20)
    assert final.decided_by == winners[0]
    assert all(r.startswith(f"already decided by {winners[0]} at ") for r in refusals)
    assert rt.connection.llen("test:sent") == (1 if final.status == Status.SUCCEEDED else 0)


def test_a_second_decision_says_who_decided_and_when(rt, worker) -> None:
    action_id = _pending_email(rt)
    signoff = Signoff(connection=rt.connection)
    decided = signoff.decide(action_id, "approve", by="alice")
    with pytest.raises(TransitionRefused) as refused:
        signoff.decide(action_id, "reject", by="bob", note="no")
    assert str(refused.value) == (f"already decided by alice at {decided.decided_at:%Y-%m-%d %H:%M:%S} UTC "
                                  f"({refused.value.status})")


def test_a_decision_on_a_stale_version_is_refused(rt, worker) -> None:
    action_id = _pending_email(rt)
    with pytest.raises(StaleVersion, match="you saw version 0, it is now 1"):
        Signoff(connection=rt.connection).decide(action_id, "approve", by="alice", version=0)
    assert rt.store.get(action_id).status == Status.PENDING_APPROVAL


def test_an_invalid_edit_changes_nothing(rt, worker) -> None:
    action_id = _pending_email(rt)
    with pytest.raises(InvalidParams, match="to: is not an email address"):
        Signoff(connection=rt.connection).decide(action_id, "approve", by="alice",
                                                 params={"to": "sarah", "subject": "Q3", "body": "b"})
    action = rt.store.get(action_id)
    assert (action.status, action.params["to"], action.version) == (Status.PENDING_APPROVAL, "sarah@client.com", 1)


def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


def test_a_work_horse_killed_mid_action_is_retried_with_the_same_idempotency_key(rt, worker) -> None:
    ticket = hang.request(tag="t1", agent="ops-bot", reason="r")
    pid, key = blpop_text(rt, "test:started:t1").split("|")
    _kill(int(pid))
    # The retry starts the function again: same idempotency key; this time it is released.
    pid2, key2 = blpop_text(rt, "test:started:t1").split("|")
    assert key2 == key == f"signoff-{ticket.id}" and pid2 != pid
    rt.connection.rpush("test:release:t1", "go")
    outcome = ticket.wait(timeout=20)
    assert outcome.status == Status.SUCCEEDED and outcome.result == {"attempt": 2}
    assert outcome.error is None  # the killed first attempt's error does not outlive the success
    steps = [e.step for e in Signoff(connection=rt.connection).audit(action_id=ticket.id)]
    assert steps == ["requested", "auto_approved", "started", "retrying", "started", "succeeded"]


def test_a_work_horse_killed_without_retries_fails_the_action_and_never_reruns_it(rt, worker) -> None:
    ticket = hang_once.request(tag="t2", agent="ops-bot", reason="r")
    _kill(int(blpop_text(rt, "test:started:t2")))
    outcome = ticket.wait(timeout=20)
    assert outcome.status == Status.FAILED
    assert outcome.error == "the process running this action died (signal 9)"
    assert rt.connection.llen("test:started:t2") == 0


def test_a_routing_job_delivered_again_never_runs_the_action_again(rt, workers) -> None:
    workers.start()
    ticket = hang_once.request(tag="t5", agent="ops-bot", reason="r")
    blpop_text(rt, "test:started:t5")  # routed, started in the routing's own step, and running
    workers.start()
    # The same routing job comes again (a redelivery): the action has started, so it must not start twice.
    again = rt.actions_queue.enqueue_call(ROUTE_JOB, args=(ticket.id,), job_id=f"again-{ticket.id}", result_ttl=60)
    when_key_changes(rt, again.key, lambda: again.get_status(refresh=True) == "finished", "the second delivery ended")
    assert again.return_value() == "running" and rt.connection.llen("test:started:t5") == 0
    rt.connection.rpush("test:release:t5", "go")
    assert ticket.wait(timeout=20).status == Status.SUCCEEDED
    assert rt.connection.llen("test:started:t5") == 0


@pytest.mark.parametrize("args", [(), ("--no-fork",)], ids=["forking", "no-fork"])
def test_a_whole_worker_killed_is_recovered_from_redis_by_another(rt, workers, args) -> None:
    first = workers.start(args=args)
    ticket = hang_once.request(tag="t3", agent="ops-bot", reason="r")
    runner = int(blpop_text(rt, "test:started:t3"))
    # The whole machine goes: the worker's process group and its work horse (RQ puts it in a group of its
    # own); with --no-fork the action runs in the worker itself.
    os.killpg(first.pid, signal.SIGKILL)
    if runner != first.pid:
        _kill(runner)
    first.wait()
    assert rt.store.get(ticket.id).status == Status.RUNNING  # the state is in Redis, not in the dead worker
    # Its heartbeat would lapse on its own; the test moves the clock instead of waiting for it.
    assert recover_abandoned(rt, at=time.time() + 3600) == 1
    outcome = ticket.wait(timeout=5)
    assert outcome.status == Status.FAILED
    assert outcome.error == "the worker running this action died; it did not finish"


def test_an_exception_fails_the_action_with_its_message(rt, worker) -> None:
    from tests.actions import explode

    outcome = explode.request(message="mailbox full", agent="ops-bot", reason="r").wait(timeout=20)
    assert (outcome.status, outcome.error) == (Status.FAILED, "ValueError: mailbox full")
