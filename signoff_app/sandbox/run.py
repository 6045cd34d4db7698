"""`signoff sandbox`: the whole approval loop on one machine, with the local Slack in a browser tab."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request

from signoff.config import get_settings
from signoff.connection import redis_url
from signoff.errors import SignoffError
from signoff_app.sandbox.server import LOOPBACK, SlackSandbox
from signoff_app.supervisor import Stack, child_env

#: The framework examples whose framework is installed (the extras): the sandbox's worker can resume their runs.
FRAMEWORK_EXAMPLES = {"agents": "examples.frameworks.openai_agents", "pydantic_ai": "examples.frameworks.pydantic_ai",
                      "langchain": "examples.frameworks.langchain"}


def default_actions() -> str:
    found = [module for package, module in FRAMEWORK_EXAMPLES.items() if importlib.util.find_spec(package)]
    return ",".join(["examples.actions", *found])


def free_port() -> int:
    """A port nobody listens on now, for the bot the sandbox starts (its users never type it)."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def run_sandbox(port: int = 8088, bot_port: int = 0, agent: bool = True) -> int:
    settings = get_settings()
    bot_port = bot_port or free_port()
    try:
        sandbox = SlackSandbox(bot_url=f"http://{LOOPBACK}:{bot_port}/slack/events").start(port)
    except OSError as taken:
        raise SignoffError(f"port {port} is taken ({taken.strerror}; another `make run`?): choose another "
                           f"with `make run PORT=8090` or `signoff sandbox --port 8090`") from None
    env = child_env(settings, redis_url(settings), SLACK_API_URL=sandbox.api_url, SLACK_BOT_TOKEN=sandbox.token,
                    SLACK_SIGNING_SECRET=sandbox.signing_secret,
                    SIGNOFF_POLICY=os.environ.get("SIGNOFF_POLICY", "demo"), SIGNOFF_APPROVAL_CHANNEL="#approvals",
                    SIGNOFF_ACTIONS=os.environ.get("SIGNOFF_ACTIONS") or default_actions(),
                    # RQ's and uvicorn's start-up lines would scroll the banner away: theirs at warning.
                    SIGNOFF_LIBRARY_LOG_LEVEL=os.environ.get("SIGNOFF_LIBRARY_LOG_LEVEL", "warning"))
    env.pop("SLACK_APP_TOKEN", None)
    # The sample agent asks; it never holds the key that signs decisions.
    agent_env = {k: v for k, v in env.items() if k != "SIGNOFF_DECISION_KEY"}
    stack = Stack(env=env)
    try:
        stack.start("worker", "worker")
        stack.start("scheduler", "scheduler")
        stack.start("bot", "bot", "--http", "--host", LOOPBACK, "--port", str(bot_port))
        _wait_listening(f"{sandbox.bot_base}/healthz")
        print(banner(sandbox, env["SIGNOFF_POLICY"]), flush=True)
        if agent:
            subprocess.run([sys.executable, "-m", "examples.agent"], env=agent_env, check=False)
        return stack.wait_any()
    except KeyboardInterrupt:
        return 0
    finally:
        stack.stop()
        sandbox.stop()


def banner(sandbox: SlackSandbox, policy: str) -> str:
    api = sandbox.url.rstrip("/")
    return (f"\nSignoff sandbox: open {sandbox.url}  (bound to {LOOPBACK} only; not a real Slack)\n"
            f"Policy: {policy}. Push more actions: .venv/bin/python -m examples.agent\n"
            f"Agents' HTTP API: {api}/api/v1/  (docs: {api}/api/v1/docs)\n"
            "From another terminal in this directory, for the CLI, the SDK and curl to use this sandbox:\n"
            f"  export SLACK_API_URL={sandbox.api_url} SLACK_BOT_TOKEN={sandbox.token} SIGNOFF_POLICY={policy}\n"
            f"  export SIGNOFF_API_URL={api} SIGNOFF_AGENT_TOKEN=$(.venv/bin/signoff agents token create my-agent)\n"
            "Ctrl-C stops everything.\n")


def _wait_listening(url: str, timeout: float = 60.0) -> None:
    """Until the web process answers, so the banner's addresses work once it is printed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.05)  # a process we just started, bounded by the deadline
    raise SignoffError(f"Signoff's web process did not answer at {url} within {timeout:g} s")
