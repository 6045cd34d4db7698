"""`signoff sandbox`: the whole approval loop on one machine, with the local Slack in a browser tab."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys

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
                    SIGNOFF_ACTIONS=os.environ.get("SIGNOFF_ACTIONS") or default_actions())
    env.pop("SLACK_APP_TOKEN", None)
    # The sample agent asks; it never holds the key that signs decisions.
    agent_env = {k: v for k, v in env.items() if k != "SIGNOFF_DECISION_KEY"}
    stack = Stack(env=env)
    try:
        stack.start("worker", "worker")
        stack.start("scheduler", "scheduler")
        stack.start("bot", "bot", "--http", "--host", LOOPBACK, "--port", str(bot_port))
        print(f"\nSignoff sandbox: open {sandbox.url}  (bound to {LOOPBACK} only; not a real Slack)\n"
              f"Policy: {env['SIGNOFF_POLICY']}. Push more actions: .venv/bin/python -m examples.agent\n"
              "Commands that talk to this Slack (signoff digest --team support-leads, ...) from another terminal:\n"
              f"  export SLACK_API_URL={sandbox.api_url} SLACK_BOT_TOKEN={sandbox.token}\n"
              "Ctrl-C stops everything.\n", flush=True)
        if agent:
            subprocess.run([sys.executable, "-m", "examples.agent"], env=agent_env, check=False)
        return stack.wait_any()
    except KeyboardInterrupt:
        return 0
    finally:
        stack.stop()
        sandbox.stop()
