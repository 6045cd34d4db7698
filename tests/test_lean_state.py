"""What an action leaves in Redis: nothing scheduled or held once decided, no RQ results of
Signoff's own jobs, and one action's audit read from its own entries, equal to the whole log's."""

from __future__ import annotations

from typing import Any

from rq.job import Job

from signoff import Signoff, Status
from signoff.audit import read_events
from signoff.runtime import JOB_SERIALIZER
from tests.actions import send_email, update_crm
from tests.helpers import wait_status, wait_worker_idle


def _held_email(rt: Any) -> str:
    ticket = send_email.request(to="sarah@client.com", subject="Q3", body="b", agent="finance-bot", reason="r")
    wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    return ticket.id


def _scheduled_for(rt: Any, action_id: str) -> list[str]:
    """Every scheduled RQ job or planned timer that would still do something about this action."""
    found = []
    for queue in (rt.actions_queue, rt.slack_queue):
        for job_id in queue.scheduled_job_registry.get_job_ids():
            job = Job.fetch(job_id, connection=rt.connection, serializer=JOB_SERIALIZER)
            if action_id in job.args:
                found.append(f"{job.func_name} {job_id}")
    timers = [m.decode() for m in rt.connection.zrange("signoff:timers", 0, -1)]
    unposted = [f"unposted:{m.decode()}" for m in rt.connection.zrange("signoff:unposted", 0, -1)]
    return found + [m for m in timers + unposted if m.endswith(action_id)]


def _rq_keys_naming(rt: Any, action_id: str) -> list[str]:
    return [k.decode() for k in rt.connection.scan_iter(match=f"rq:*{action_id}*", count=1000)]


def test_a_decided_action_leaves_nothing_scheduled(rt, worker) -> None:
    approved, rejected, canceled = _held_email(rt), _held_email(rt), _held_email(rt)
    # While it waits, its deadline is planned...
    assert _scheduled_for(rt, approved)
    signoff = Signoff(connection=rt.connection)
    signoff.decide(approved, "approve", by="slack:U0BOB")
    signoff.decide(rejected, "reject", by="slack:U0BOB", note="no")
    signoff.ticket(canceled).cancel(note="changed my mind")
    wait_status(rt, approved, Status.SUCCEEDED)
    # ...and once decided, nothing about it is left to fire.
    for action_id in (approved, rejected, canceled):
        assert _scheduled_for(rt, action_id) == [], action_id


def test_signoffs_own_jobs_keep_no_results(rt, worker) -> None:
    ran = update_crm.request(record_id="r1", field="stage", value="won", agent="crm-bot", reason="deal closed")
    wait_status(rt, ran.id, Status.SUCCEEDED)
    held = _held_email(rt)
    Signoff(connection=rt.connection).decide(held, "approve", by="slack:U0BOB")
    wait_status(rt, held, Status.SUCCEEDED)
    wait_worker_idle(rt, worker.pid)  # RQ's own clean-up after the job has returned
    # The route, run and Slack jobs are gone with their results: the action's own record is what stays.
    assert _rq_keys_naming(rt, ran.id) == [] and _rq_keys_naming(rt, held) == []
    assert list(rt.connection.scan_iter(match="rq:results:*")) == []
    queues = (rt.actions_queue, rt.slack_queue)
    assert [q.finished_job_registry.count for q in queues] == [0, 0]
    assert [q.started_job_registry.count for q in queues] == [0, 0]  # no execution left behind either


def test_one_actions_audit_equals_its_part_of_the_whole_log(rt, worker) -> None:
    first, second = _held_email(rt), _held_email(rt)
    signoff = Signoff(connection=rt.connection)
    signoff.decide(second, "reject", by="slack:U0BOB", note="not now")
    signoff.decide(first, "approve", by="slack:U0BOB")
    wait_status(rt, first, Status.SUCCEEDED)
    for action_id in (first, second):
        whole = [e for e in read_events(rt.connection) if e.action_id == action_id]
        own = list(signoff.audit(action_id=action_id))
        assert own == whole and [e.step for e in own][:2] == ["requested", "held"]
    assert [e.step for e in signoff.audit(action_id=first)][2:] == ["approved", "started", "succeeded"]
