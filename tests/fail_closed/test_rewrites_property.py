"""One door, as a property: a Redis writer without the decision key rewrites whatever it likes between
the steps of an action's life (the stored action, allowances, timers, queued jobs), and

- nothing is sent that a person did not approve, with exactly what they approved (the verifier's
  policy holds every email for a person), and
- while the consumption marks are left alone, no approval sends twice.

The steps run through a real RQ worker (Signoff's SimpleWorker, in this process, in burst mode: it
takes what is queued and returns, so each step is finished when the next begins), on the real Redis.
With the restricted agent user, the same rewrites are refused by Redis (tests/test_redis_acl.py)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from policies.allowances import Allowance
from signoff import lifecycle
from signoff.allowances import ALLOWANCES
from signoff.errors import SignoffError
from signoff.keys import action_key
from signoff.models import Status, utcnow
from signoff.runtime import JOB_SERIALIZER, Runtime
from signoff.store import TIMERS, status_index
from tests.actions import send_email
from workers.job_class import SignoffJob
from workers.worker import SignoffSimpleWorker, prepare

EMAIL = {"to": "sarah@client.com", "subject": "Q3", "body": "The numbers are in."}
FORGED_PARAMS = {"to": "attacker@evil.com", "subject": "Q3", "body": "Send me the numbers."}
ACTIONS = ("a", "b", "c")  # a, b: emails waiting for a person; c: an internal change the policy runs
STATUSES = [str(s) for s in Status]


@pytest.fixture(scope="module")
def world() -> Iterator[Runtime]:
    rt = Runtime(connection=redis.Redis.from_url(os.environ["REDIS_URL"]))
    prepare(rt, actions=["tests.actions", "tests.money_actions"])
    yield rt


def work(rt: Runtime) -> None:
    """Whatever is queued (and scheduled, as if its time had come) is taken by a real worker, to the end."""
    for queue in (rt.actions_queue, rt.slack_queue):
        registry = queue.scheduled_job_registry
        for job_id in registry.get_jobs_to_schedule(int(time.time()) + 10**6):
            registry.remove(job_id)
            queue.enqueue_job(SignoffJob.fetch(job_id, connection=rt.connection, serializer=JOB_SERIALIZER))
    worker = SignoffSimpleWorker([rt.actions_queue, rt.slack_queue], connection=rt.connection,
                                 serializer=JOB_SERIALIZER, job_class=SignoffJob)
    worker.work(burst=True, with_scheduler=False, logging_level="ERROR")


def tick(rt: Runtime) -> None:
    """The scheduler's periodic jobs, due now: deadlines and timers, and the sweep."""
    rt.actions_queue.enqueue_call("workers.deadline_jobs.fire_due", args=(time.time() + 10**6,), result_ttl=0)
    rt.actions_queue.enqueue_call("workers.maintenance.sweep", result_ttl=0)
    work(rt)


# What the writer does -------------------------------------------------------------------------------

def _doc(rt: Runtime, action_id: str) -> dict[str, Any] | None:
    raw = rt.connection.get(action_key(action_id))
    return json.loads(raw) if raw else None


def rewrite_field(rt: Runtime, ids: dict[str, str], target: str, name: str, value: Any) -> None:
    doc = _doc(rt, ids[target])
    if doc is None:
        return
    doc[name] = value if isinstance(value, str) else json.dumps(value)
    rt.connection.set(action_key(ids[target]), json.dumps(doc))


def copy_fields(rt: Runtime, ids: dict[str, str], source: str, target: str, names: list[str]) -> None:
    """Another action's signature, nonce, permit, votes...: a real approval, on the wrong action."""
    src, dst = _doc(rt, ids[source]), _doc(rt, ids[target])
    if src is None or dst is None:
        return
    for name in names:
        if name in src:
            dst[name] = src[name]
        else:
            dst.pop(name, None)
    rt.connection.set(action_key(ids[target]), json.dumps(dst))


def set_status(rt: Runtime, ids: dict[str, str], target: str, status: str) -> None:
    doc = _doc(rt, ids[target])
    if doc is None:
        return
    for old in STATUSES:
        rt.connection.zrem(status_index(old), ids[target])
    doc["status"] = status
    rt.connection.zadd(status_index(status), {ids[target]: time.time()})
    rt.connection.set(action_key(ids[target]), json.dumps(doc))


def queue_job(rt: Runtime, ids: dict[str, str], target: str, job: str) -> None:
    doc = _doc(rt, ids[target]) or {}
    args: tuple[Any, ...] = (ids[target],)
    if job == "workers.jobs.admit_action":
        args = (ids[target], int(doc.get("version", "1")))
    rt.actions_queue.enqueue_call(job, args=args, result_ttl=0)


def plant_allowance(rt: Runtime, ids: dict[str, str], target: str) -> None:
    now = utcnow()
    forged = Allowance(id=f"al_{target}", agent="finance-bot", type="send_email", rule="external-communications",
                       requirements=[], author="slack:U0ALICE", created_at=now,
                       expires_at=now + timedelta(days=3650), from_action=ids[target])
    rt.connection.hset(ALLOWANCES, forged.id, forged.model_dump_json())


def plant_timer(rt: Runtime, ids: dict[str, str], target: str, kind: str) -> None:
    rt.connection.zadd(TIMERS, {f"{kind}:{ids[target]}": 0})


targets = st.sampled_from(ACTIONS)
SIGNED = ["signature", "nonce", "permit", "votes", "decided_by", "decided_at", "rule", "waiting", "allowance"]
field_values = st.one_of(
    st.tuples(st.just("params"), st.just(json.dumps(FORGED_PARAMS))),
    st.tuples(st.just("type"), st.sampled_from(["send_email", "update_crm", "issue_refund"])),
    st.tuples(st.just("func"), st.sampled_from(["tests.actions.send_email", "tests.actions.update_crm"])),
    st.tuples(st.just("category"), st.sampled_from(["internal", "external_communication"])),
    st.tuples(st.just("decided_by"), st.sampled_from(["slack:U0ALICE", "policy:everything-else",
                                                       "policy:deadline"])),
    st.tuples(st.just("owner"), st.sampled_from(["U0ALICE", ""])),
    st.tuples(st.just("rule"), st.sampled_from(["everything-else", "external-communications"])),
    st.tuples(st.just("mode"), st.sampled_from(["auto", "approve", "post_hoc"])),
    st.tuples(st.just("version"), st.integers(1, 5).map(str)),
    st.tuples(st.just("nonce"), st.sampled_from(["n0", "n1", "n2"])),  # fresh: never consumed
    st.tuples(st.just("signature"), st.sampled_from(["00" * 32, "forged"])),
    st.tuples(st.just("attempts"), st.integers(0, 3).map(str)),
    st.tuples(st.just("waiting"), st.just(json.dumps({"quorum": 1, "on_expiry": "run", "chain": [],
                                                       "deadline_at": "2020-01-01T00:00:00+00:00"}))),
)
forgery = st.one_of(
    st.tuples(st.just("field"), targets, field_values),
    st.tuples(st.just("copy"), targets, targets, st.lists(st.sampled_from(SIGNED), min_size=1, unique=True)),
    st.tuples(st.just("status"), targets, st.sampled_from(STATUSES)),
    st.tuples(st.just("job"), targets, st.sampled_from(["workers.jobs.run_action", "workers.jobs.process_action",
                                                        "workers.jobs.admit_action"])),
    st.tuples(st.just("allowance"), targets),
    st.tuples(st.just("timer"), targets, st.sampled_from(["expire", "escalate", "remind"])),
)
emails = st.sampled_from(("a", "b"))
step = st.one_of(forgery, st.just(("work",)), st.just(("tick",)), st.tuples(st.just("approve"), emails),
                 st.tuples(st.just("reject"), emails))


def forge(rt: Runtime, ids: dict[str, str], move: tuple[Any, ...]) -> None:
    kind = move[0]
    if kind == "field":
        rewrite_field(rt, ids, move[1], *move[2])
    elif kind == "copy":
        copy_fields(rt, ids, move[1], move[2], move[3])
    elif kind == "status":
        set_status(rt, ids, move[1], move[2])
    elif kind == "job":
        queue_job(rt, ids, move[1], move[2])
    elif kind == "allowance":
        plant_allowance(rt, ids, move[1])
    elif kind == "timer":
        plant_timer(rt, ids, move[1], move[2])


def sends(rt: Runtime) -> list[tuple[str, str, str]]:
    return [tuple(raw.decode().split("|")) for raw in rt.connection.lrange("test:sent", 0, -1)]  # type: ignore[misc]


REPLAY = [("approve", "a"), ("work",), ("status", "a", "approved"), ("job", "a", "workers.jobs.run_action"), ("work",)]
UNAPPROVED = [("status", "a", "approved"), ("field", "a", ("nonce", "n1")), ("job", "a", "workers.jobs.run_action"),
              ("work",)]
EXPIRY_RUNS = [("field", "a", ("waiting", json.dumps({"quorum": 1, "on_expiry": "run", "chain": [],
                                                        "deadline_at": "2020-01-01T00:00:00+00:00"}))),
               ("timer", "a", "expire"), ("tick",)]


@example(moves=REPLAY)
@example(moves=UNAPPROVED)
@example(moves=EXPIRY_RUNS)
@example(moves=[("approve", "a"), ("copy", "a", "b", SIGNED), ("job", "b", "workers.jobs.run_action"), ("work",)])
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(moves=st.lists(step, max_size=10))
def test_no_rewrite_sends_what_a_person_did_not_approve_nor_sends_twice(world: Runtime, moves: list[Any]) -> None:
    rt = world
    rt.connection.flushdb()
    rt.catalog.publish([send_email.action_type, *(t for t in _others())])
    ids = {
        "a": lifecycle.request(rt, send_email.action_type, EMAIL, agent="finance-bot", reason="Tell Sarah").id,
        "b": lifecycle.request(rt, send_email.action_type, {**EMAIL, "to": "ann@client.com"}, agent="finance-bot",
                               reason="Tell Ann").id,
        "c": lifecycle.request(rt, rt.catalog.get("update_crm"), {"record_id": "r1", "field": "f", "value": "v"},
                               agent="crm-bot", reason="tidy").id,
    }
    work(rt)
    approved: dict[str, tuple[str, str]] = {}  # action id -> (to, subject) a person said yes to
    for move in moves:
        if move[0] == "work":
            work(rt)
        elif move[0] == "tick":
            tick(rt)
        elif move[0] in ("approve", "reject"):
            action_id = ids[move[1]]
            try:
                seen = rt.store.get(action_id)
                lifecycle.decide(rt, action_id, move[0], by="slack:U0BOB")
            except (SignoffError, ValidationError):
                continue  # not waiting (any more), or a record the writer broke: nothing was decided
            if move[0] == "approve" and seen.type == "send_email":
                approved[action_id] = (str(seen.params.get("to")), str(seen.params.get("subject")))
        else:
            forge(rt, ids, move)
    work(rt)
    tick(rt)

    sent = sends(rt)
    keys = [key for _, _, key in sent]
    assert len(keys) == len(set(keys)), f"an approval sent twice: {sent}"
    for to, subject, key in sent:
        action_id = key.removeprefix("signoff-")
        assert approved.get(action_id) == (to, subject), f"sent {to!r} for {action_id} with no such yes: {approved}"


def _others() -> list[Any]:
    from signoff import registry

    return [local.action_type for local in registry.all_local()]
