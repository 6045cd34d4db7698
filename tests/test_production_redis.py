"""Production Redis: TLS with a managed service's own CA (or, where documented, unverified), and
Redis Sentinel, for the agent's CLI, the worker and the worker's RQ scheduler."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from bench.work import bench_add
from signoff import Status
from signoff.catalog import Catalog
from signoff.embedded_redis import redis_server_binary
from signoff.store import ActionStore
from tests.actions import issue_refund
from tests.conftest import ROOT
from tests.tls_proxy import TLSProxy

#: The test actions report to the test Redis by REDIS_URL; the runs here only need to happen.
PURE_ACTIONS = {"SIGNOFF_ACTIONS": "tests.actions,bench.work"}


def _cli(*args: str, env: dict[str, str], without: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in {**os.environ, **env}.items() if k not in without}
    return subprocess.run([sys.executable, "-m", "signoff_app.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, env=full, timeout=60)


def _submitted_id(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[0]


def test_every_process_reaches_redis_over_tls_with_the_services_ca(rt, workers, tmp_path) -> None:
    proxy = TLSProxy(tmp_path, os.environ["REDIS_URL"].removeprefix("unix://"))
    url = f"rediss://127.0.0.1:{proxy.port}/0"
    tls = {"REDIS_URL": url, "SIGNOFF_REDIS_CA_CERTS": str(proxy.ca)}
    try:
        Catalog(rt.connection).publish([bench_add.action_type])  # as a worker publishes it
        workers.start(extra_env={**tls, **PURE_ACTIONS})
        action_id = _submitted_id(_cli("submit", "bench_add", "-p", "a=1", "-p", "b=2", "--agent", "crm-bot",
                                       "--reason", "over TLS", env=tls))
        assert ActionStore(rt.connection).wait_for_status(action_id, {Status.SUCCEEDED}, 30).status == "succeeded"
        # The service's certificate is not one the system trusts: without its CA, refused in one line.
        refused = _cli("list", env={"REDIS_URL": url})
        assert refused.returncode == 1 and "certificate verify failed" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
        # Where a service's certificate cannot be checked at all, verification can be switched off.
        unverified = _cli("list", env={"REDIS_URL": url, "SIGNOFF_REDIS_TLS_VERIFY": "none"})
        assert unverified.returncode == 0 and action_id in unverified.stdout
    finally:
        proxy.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def sentinel(tmp_path: Path) -> Iterator[tuple[redis.Redis, str]]:
    """A master redis-server on a TCP port and one Sentinel watching it, both real processes."""
    master_port, sentinel_port = _free_port(), _free_port()
    binary = redis_server_binary()
    master = subprocess.Popen([binary, "--port", str(master_port), "--bind", "127.0.0.1", "--save", "",
                               "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    config = tmp_path / "sentinel.conf"
    config.write_text(f"port {sentinel_port}\nbind 127.0.0.1\ndir {tmp_path}\n"
                      f"sentinel monitor signoff-test 127.0.0.1 {master_port} 1\n")
    watcher = subprocess.Popen([binary, str(config), "--sentinel"], stdout=subprocess.DEVNULL)
    try:
        # Each server's start-up is waited for by the client's own retry with back-off, bounded.
        patient = Retry(ExponentialBackoff(cap=0.2, base=0.01), retries=100)
        master_conn = redis.Redis(port=master_port, retry=patient, retry_on_error=[redis.ConnectionError])
        master_conn.ping()
        redis.Redis(port=sentinel_port, retry=patient, retry_on_error=[redis.ConnectionError]).ping()
        yield master_conn, f"127.0.0.1:{sentinel_port}"
    finally:
        for process in (watcher, master):
            process.terminate()
            process.wait(timeout=10)


def test_every_process_follows_sentinel_to_the_master(sentinel, workers, policy_file) -> None:
    master, sentinels = sentinel
    env = {"SIGNOFF_REDIS_SENTINELS": sentinels, "SIGNOFF_REDIS_SERVICE": "signoff-test"}
    policy = policy_file("rules:\n  - name: money\n    match: {category: financial}\n    mode: approve\n"
                         "    deadline: 1s\n  - name: rest\n    mode: auto\n")
    Catalog(master).publish([bench_add.action_type, issue_refund.action_type])  # as a worker publishes them
    workers.start(extra_env={**env, **PURE_ACTIONS}, without=("REDIS_URL",), policy=policy)
    store = ActionStore(master)
    crm = _submitted_id(_cli("submit", "bench_add", "-p", "a=1", "-p", "b=2", "--agent", "crm-bot",
                             "--reason", "via Sentinel", env=env, without=("REDIS_URL",)))
    assert store.wait_for_status(crm, {Status.SUCCEEDED}, 30).status == "succeeded"
    # A deadline is fired by the worker's own RQ scheduler, a process RQ builds its connection for.
    refund = _submitted_id(_cli("submit", "issue_refund", "-p", "customer_id=c1", "-p", "amount=5", "--agent",
                                "support-bot", "--reason", "late", env=env,
                                without=("REDIS_URL",)))
    assert store.wait_for_status(refund, {Status.EXPIRED}, 30).status == "expired"
