"""Test fixtures: one real redis-server for the session, real RQ worker processes per test."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from signoff.embedded_redis import EmbeddedRedis
from signoff_app.supervisor import end_stragglers

ROOT = Path(__file__).resolve().parent.parent
_server: EmbeddedRedis | None = None


def pytest_configure(config: pytest.Config) -> None:
    # Started before any test module imports Signoff, so every connection goes to this server.
    global _server
    data_dir = Path(tempfile.mkdtemp(prefix="signoff-test-"))
    _server = EmbeddedRedis(data_dir)
    os.environ["REDIS_URL"] = _server.ensure_running()
    os.environ["SIGNOFF_DATA_DIR"] = str(data_dir)
    os.environ["SIGNOFF_LOG_FORMAT"] = "json"
    os.environ["SIGNOFF_LOG_LEVEL"] = "warning"  # the audit lines of thousands of test actions are noise here
    os.environ.pop("SLACK_BOT_TOKEN", None)
    # The bot, the workers and the tests' own decisions share one signing key; the agents in tests do not need it.
    os.environ["SIGNOFF_DECISION_KEY"] = uuid.uuid4().hex
    os.environ["SIGNOFF_ACTIONS"] = "tests.actions,tests.money_actions"  # what test workers may run


def pytest_unconfigure(config: pytest.Config) -> None:
    if _server is not None:
        _server.stop()
        shutil.rmtree(_server.data_dir, ignore_errors=True)


@pytest.fixture
def connection() -> Iterator[redis.Redis]:
    conn = redis.Redis.from_url(os.environ["REDIS_URL"])
    conn.flushall()
    yield conn
    conn.close()


@pytest.fixture
def rt(connection: redis.Redis):  # type: ignore[no-untyped-def]
    from signoff.runtime import Runtime

    return Runtime(connection=connection)


@pytest.fixture
def policy_file(tmp_path: Path) -> Callable[[str], str]:
    def write(text: str) -> str:
        path = tmp_path / "policy.yml"
        path.write_text(text)
        return str(path)

    return write


class Workers:
    """Real `signoff worker` processes, each in its own process group so a test can kill it whole."""

    def __init__(self, log_dir: Path) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []
        self.log_dir = log_dir
        self.logs: list[Any] = []

    def start(self, policy: str | None = None, extra_env: dict[str, str] | None = None,
              without: tuple[str, ...] = (), args: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in {**os.environ, **(extra_env or {})}.items() if k not in without}
        if policy:
            env["SIGNOFF_POLICY"] = policy
        # The worker's log goes to a file: a pipe nobody reads would fill up and block the worker.
        log = open(self.log_dir / f"worker-{len(self.processes)}.log", "w")  # noqa: SIM115 - closed in stop_all
        self.logs.append(log)
        process = subprocess.Popen(
            # A unique name: RQ refuses a second live worker of the same name.
            [sys.executable, "-m", "signoff_app.cli", "worker", "--name", f"test-{uuid.uuid4().hex[:12]}", *args],
            cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=log,
        )
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            # What it left in its session (RQ's scheduler process, forked as the stop came) ends too: a
            # process left over would take the next test's jobs.
            end_stragglers(process.pid)
        for log in self.logs:
            log.close()


@pytest.fixture
def workers(connection: redis.Redis, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(tmp_path)
    yield pool
    pool.stop_all()


@pytest.fixture
def worker(workers: Workers) -> subprocess.Popen[bytes]:
    return workers.start()


# Slack --------------------------------------------------------------------------------------------

@pytest.fixture
def sandbox() -> Iterator[Any]:
    from signoff_app.sandbox import SlackSandbox

    # The bot's address is known once a bot runs (it picks its own port): see Bot.
    box = SlackSandbox(bot_url="http://127.0.0.1:9/slack/events").start()
    yield box
    box.stop()


@pytest.fixture
def slack_env(sandbox: Any) -> dict[str, str]:
    return {"SLACK_API_URL": sandbox.api_url, "SLACK_BOT_TOKEN": sandbox.token,
            "SLACK_SIGNING_SECRET": sandbox.signing_secret, "SIGNOFF_APPROVAL_CHANNEL": "#approvals"}


class Bot:
    """`signoff bot --http` as a real process on a port it picks itself (a port probed here could be
    taken by a parallel test process first); ready once it logs where it listens, which the sandbox
    is then pointed at."""

    def __init__(self, env: dict[str, str], sandbox: Any) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "signoff_app.cli", "bot", "--http", "--host", "127.0.0.1", "--port", "0"],
            cwd=ROOT, env={**os.environ, **env, "SIGNOFF_LOG_FORMAT": "json", "SIGNOFF_LOG_LEVEL": "info"},
            start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.log: list[str] = []
        self.logged = threading.Condition()
        assert self.process.stderr is not None
        for line in self.process.stderr:  # blocks on the bot's own output, not on a timer
            self.log.append(line)
            if '"bot_listening"' in line:
                self.url = str(json.loads(line)["url"])
                break
        else:
            raise RuntimeError("the bot exited before listening:\n" + "".join(self.log))
        threading.Thread(target=self._drain, daemon=True).start()
        sandbox.bot_url = self.url
        sandbox.bot_port = int(urllib.parse.urlsplit(self.url).port or 0)

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self.logged:
                self.log.append(line)
                self.logged.notify_all()

    def wait_for_log(self, check: Callable[[list[str]], bool], timeout: float = 30.0) -> None:
        """Until the bot's log, as read so far, satisfies `check`: its lines arrive through a pipe."""
        with self.logged:
            assert self.logged.wait_for(lambda: check(self.log), timeout), "the bot never logged it"

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=10)


@pytest.fixture
def slack_worker(workers: Workers, slack_env: dict[str, str]) -> subprocess.Popen[bytes]:
    return workers.start(extra_env=slack_env)


@pytest.fixture
def bot(sandbox: Any, slack_env: dict[str, str], connection: redis.Redis) -> Iterator[Bot]:
    running = Bot(slack_env, sandbox)
    yield running
    running.stop()
