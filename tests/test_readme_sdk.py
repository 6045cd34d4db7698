"""The README's first SDK example, run verbatim as a newcomer runs it: a file next to the project,
against a worker that runs `examples/actions.py` under the sandbox's policy."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from signoff import Signoff, Status
from tests.conftest import ROOT
from tests.helpers import wait_status


def _readme_agent() -> str:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    return next(b for b in blocks if b.startswith("from examples.actions import send_email"))


def test_the_readme_sdk_example_runs_verbatim_and_waits_for_a_person(rt, workers, tmp_path) -> None:
    workers.start(policy="demo", extra_env={"SIGNOFF_ACTIONS": "examples.actions"})
    script = tmp_path / "ask.py"
    script.write_text(_readme_agent())
    agent = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, text=True, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert agent.stdout is not None
        action_id, status = agent.stdout.readline().split()  # blocks on the agent's own output
        assert status == "received"
        assert wait_status(rt, action_id, Status.PENDING_APPROVAL).rule  # it waits for a person
        Signoff(connection=rt.connection).decide(action_id, "approve", by="slack:U0ALICE")
        out, err = agent.communicate(timeout=60)
    finally:
        agent.kill()
    assert agent.returncode == 0, err
    assert out.split()[:2] == ["succeeded", "slack:U0ALICE"]
