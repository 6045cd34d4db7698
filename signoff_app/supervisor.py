"""`signoff up`: Redis, workers and (when configured) the Slack app, as child processes of one command."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from signoff.config import Settings, get_settings
from signoff.connection import redis_url
from signoff.logging import log
from signoff.signing import decision_key


@dataclass
class Stack:
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # SIGTERM (a process manager, `kill`) stops the children as Ctrl-C does.
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGINT, _interrupt)

    def start(self, name: str, *args: str) -> None:
        # Each child in a session of its own: Ctrl-C reaches this process only, which then stops the
        # children one by one, quietly, rather than every process at once mid-line. A stop arriving
        # while a child is being started waits until it is recorded: `stop()` must know every child.
        with _uninterrupted():
            self.processes[name] = subprocess.Popen([sys.executable, "-m", "signoff_app.cli", *args],
                                                    env={**self.env, PARENT_ENV: str(os.getpid())},
                                                    start_new_session=True)
        log.info("started", process=name, pid=self.processes[name].pid)

    def wait_any(self) -> int:
        # Whichever child stops first (or Ctrl-C) ends the stack: a half-running stack misleads.
        pid, status = os.wait()
        name = next((n for n, p in self.processes.items() if p.pid == pid), str(pid))
        log.warning("process_exited", process=name, status=os.waitstatus_to_exitcode(status),
                    hint="the others are stopped too; its log lines above say why")
        return 1

    def stop(self) -> None:
        """The last started first: the bot stops taking clicks before the workers stop running."""
        for name, process in reversed(self.processes.items()):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            end_stragglers(process.pid)
            log.info("stopped", process=name)


PARENT_ENV = "SIGNOFF_SUPERVISOR_PID"  # set for a child of `signoff up` or `signoff sandbox`
_PR_SET_PDEATHSIG = 1  # prctl(2)


def follow_supervisor() -> None:
    """A child of `signoff up` or `signoff sandbox` ends with it, even when it is killed outright (a
    SIGKILL, the OOM killer) and cannot stop its children: Linux sends the child SIGTERM, which stops it
    as a stop from the supervisor does. Elsewhere, or when not supervised, nothing changes."""
    parent = os.environ.pop(PARENT_ENV, None)  # not handed on to what this process starts
    if not parent or not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        log.warning("parent_death_signal_unavailable", errno=ctypes.get_errno())
        return
    if os.getppid() != int(parent):  # it was gone before the signal was asked for
        os.kill(os.getpid(), signal.SIGTERM)


def end_stragglers(group: int, grace: float = 5.0) -> None:
    """What a child left behind in its session once it exited (RQ's scheduler process, forked just as
    the stop came): asked to stop, then killed after `grace`. Not its children while it ran: a worker
    lets its running action finish before it exits."""
    try:
        os.killpg(group, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)  # processes of another parent: nothing to wait on but their absence
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


def child_env(settings: Settings, url: str, **extra: str) -> dict[str, str]:
    """The children's environment: one Redis, and the decision key (on embedded defaults, the data
    directory's own, handed on because the children see REDIS_URL set)."""
    env = {**os.environ, "REDIS_URL": url, **extra}
    key = decision_key(settings)
    if key is not None:
        env["SIGNOFF_DECISION_KEY"] = key.decode()
    return env


_held = {"depth": 0, "pending": 0}


def _interrupt(_signum: int, _frame: object) -> None:
    if _held["depth"]:
        _held["pending"] = 1  # raised as soon as the child being started is recorded
        return
    raise KeyboardInterrupt


@contextlib.contextmanager
def _uninterrupted() -> Iterator[None]:
    _held["depth"] += 1
    try:
        yield
    finally:
        _held["depth"] -= 1
        if not _held["depth"] and _held["pending"]:
            _held["pending"] = 0
            raise KeyboardInterrupt


def run_stack(workers: int = 1, extra: list[tuple[str, list[str]]] | None = None, bot_port: int = 3000) -> int:
    settings = get_settings()
    url = redis_url(settings)
    stack = Stack(env=child_env(settings, url))
    print(f"Signoff is up. Redis: {url}  Policy: {settings.policy}", flush=True)
    if settings.slack_bot_token is None:
        print("Slack is not configured (SLACK_BOT_TOKEN is unset), so the bot is not started: actions that "
              "need a person will wait unseen.\nSet SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (README, 'Slack'), "
              "or try the whole loop with a local Slack: make run", flush=True)
    print("Request an action from another terminal, e.g.:\n"
          "  .venv/bin/python -m examples.agent\n"
          "  .venv/bin/signoff list --status pending_approval\n"
          "  .venv/bin/signoff approve ID --by you\n"
          "Ctrl-C stops everything.", flush=True)
    try:
        for number in range(workers):
            stack.start(f"worker-{number + 1}", "worker", "--name", f"signoff-{os.getpid()}-{number + 1}")
        stack.start("scheduler", "scheduler")
        if settings.slack_bot_token is not None:
            # With Slack configured, the bot runs too: Socket Mode when there is an app token, else HTTP.
            mode = ["--socket"] if settings.slack_app_token is not None else ["--http", "--port", str(bot_port)]
            stack.start("bot", "bot", *mode)
        for name, args in extra or []:
            stack.start(name, *args)
        return stack.wait_any()
    except KeyboardInterrupt:
        return 0
    finally:
        stack.stop()
