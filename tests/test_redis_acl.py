"""An agent with a restricted Redis user (`signoff redis-acl`, Redis 7): it may queue requests, read
actions and hear their transitions; the forgeries a full Redis writer could try are refused by Redis
itself with NOPERM, against a real redis-server 7 and a real worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings

from signoff import Signoff
from signoff.allowances import ALLOWANCES
from signoff.catalog import TYPES_KEY
from signoff.config import Settings
from signoff.embedded_redis import EmbeddedRedis
from signoff.inbox import RequestRefused
from signoff.keys import AUDIT_STREAM, action_key
from signoff.models import Status
from signoff.runtime import Runtime
from signoff.store import TIMERS, consumed_key
from tests.conftest import ROOT, Workers
from tests.fail_closed.test_rewrites_property import forge, forgery
from tests.helpers import when_key_changes
from tests.redis7 import redis7  # noqa: F401 - a fixture

pytestmark = pytest.mark.usefixtures("redis7")


def _acl(admin_url: str, user: str, *flags: str) -> dict[str, Any]:
    printed = subprocess.run([sys.executable, "-m", "signoff_app.cli", "redis-acl", user, "--json", *flags],
                             cwd=ROOT, env={**os.environ, "REDIS_URL": admin_url}, capture_output=True, text=True,
                             check=True).stdout
    return dict(json.loads(printed))


@pytest.fixture(scope="module")
def admin(redis7: EmbeddedRedis) -> Runtime:  # noqa: F811
    return Runtime(connection=redis.Redis.from_url(redis7.url))


@pytest.fixture(scope="module")
def agent_url(redis7: EmbeddedRedis) -> str:  # noqa: F811
    return str(_acl(redis7.url, "agent-support", "--apply")["agent_env"]["REDIS_URL"])


@pytest.fixture(scope="module")
def worker(redis7: EmbeddedRedis, admin: Runtime, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:  # noqa: F811
    admin.connection.flushall()
    pool = Workers(tmp_path_factory.mktemp("acl-workers"))
    pool.start(extra_env={"REDIS_URL": redis7.url})
    # Ready once it has published its own action types: the agent's catalogue reads them.
    when_key_changes(admin, TYPES_KEY, lambda: admin.connection.hexists(TYPES_KEY, "update_crm"), "worker published")
    yield
    pool.stop_all()


@pytest.fixture
def agent(agent_url: str, worker: None) -> Signoff:
    return Signoff(connection=redis.Redis.from_url(agent_url), settings=Settings(SIGNOFF_REDIS_ROLE="agent"))


def test_the_command_prints_the_rules_and_the_agents_environment(redis7: EmbeddedRedis) -> None:  # noqa: F811
    printed = _acl(redis7.url, "agent-billing")
    assert printed["acl"].startswith("ACL SETUSER agent-billing reset on #")
    assert printed["agent_env"]["SIGNOFF_REDIS_ROLE"] == "agent"
    assert "agent-billing" in printed["agent_env"]["REDIS_URL"] and not printed["applied"]


def test_a_restricted_agent_submits_and_waits_as_any_agent_does(agent: Signoff, admin: Runtime) -> None:
    ticket = agent.submit("update_crm", {"record_id": "r1", "field": "tier", "value": "gold"},
                          agent="support-bot", reason="customer upgraded")
    outcome = ticket.wait(timeout=30)
    assert outcome.status == Status.SUCCEEDED, outcome
    assert admin.connection.lrange("test:crm", 0, -1) == [b"r1.tier=gold"]

    held = agent.submit("send_email", {"to": "sarah@client.com", "subject": "Hi", "body": "Hello"},
                        agent="support-bot", reason="follow-up")
    assert held.wait_until(Status.PENDING_APPROVAL, timeout=30).status == Status.PENDING_APPROVAL


def test_bad_input_fails_in_the_agent_and_queues_nothing(agent: Signoff, admin: Runtime) -> None:
    from signoff.errors import InvalidParams

    before = admin.connection.llen("rq:queue:signoff")
    with pytest.raises(InvalidParams, match="to"):
        agent.submit("send_email", {"subject": "Hi", "body": "x"}, agent="support-bot", reason="r")
    assert admin.connection.llen("rq:queue:signoff") == before


def test_a_request_the_worker_refuses_says_why(agent: Signoff, admin: Runtime) -> None:
    # The agent's catalogue said one thing, the worker's own code another: the worker's wins.
    from signoff import inbox
    from signoff.catalog import ActionType

    lying = ActionType(name="update_crm", params_schema={"type": "object", "properties": {"x": {"type": "string"}}})
    action_id = inbox.send(agent.runtime, lying, {"x": "1"}, agent="support-bot", reason="r")
    with pytest.raises(RequestRefused, match="record_id"):
        agent.ticket(action_id).wait(timeout=30)


FORGERIES: list[tuple[str, tuple[Any, ...]]] = [
    ("rewrite an action", ("SET", action_key("a1"), "{}")),
    ("rewrite it by script", ("EVAL", "return redis.call('SET', KEYS[1], '{}')", 1, action_key("a1"))),
    ("plant an allowance", ("HSET", ALLOWANCES, "al1", "{}")),
    ("delete a consumption mark (replay)", ("DEL", consumed_key("n1"))),
    ("plant an expiry timer", ("ZADD", TIMERS, 0, "expire:a1")),
    ("queue a run job of its own", ("HSET", "rq:job:signoff-run-a1-v1", "func_name", "workers.jobs.run_action")),
    ("re-declare a type", ("HSET", TYPES_KEY, "send_email", "{}")),
    ("delete history", ("DEL", AUDIT_STREAM)),
    ("append to history", ("XADD", AUDIT_STREAM, "*", "e", "{}")),
    ("wipe everything", ("FLUSHALL",)),
    ("change the server", ("CONFIG", "SET", "appendonly", "no")),
    ("become someone else", ("ACL", "SETUSER", "agent-support", "+@all")),
]


@pytest.mark.parametrize(("what", "command"), FORGERIES, ids=[what for what, _ in FORGERIES])
def test_forgeries_are_refused_by_redis(agent_url: str, what: str, command: tuple[Any, ...]) -> None:
    connection = redis.Redis.from_url(agent_url)
    with pytest.raises(redis.exceptions.NoPermissionError):
        connection.execute_command(*command)


def test_the_command_refuses_a_redis_older_than_7() -> None:
    # The suite's own server is the embedded 6.2: restricted users cannot be expressed there.
    done = subprocess.run([sys.executable, "-m", "signoff_app.cli", "redis-acl", "agent-x", "--apply"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 1 and "need Redis 7 or newer" in done.stderr


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(move=forgery)
def test_the_property_tests_rewrites_are_refused_by_redis(agent_url: str, admin: Runtime, move: Any) -> None:
    # The writer of tests/fail_closed/test_rewrites_property.py, with the restricted user's connection.
    ids = {"a": "acl-a", "b": "acl-b", "c": "acl-c"}
    for action_id in ids.values():
        admin.connection.set(action_key(action_id), json.dumps({"status": "pending_approval", "version": "1"}))
    restricted = Runtime(connection=redis.Redis.from_url(agent_url))
    with pytest.raises(redis.exceptions.NoPermissionError):
        forge(restricted, ids, move)
