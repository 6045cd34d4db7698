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


def test_the_sandboxs_large_refund_shows_what_it_would_change(rt, workers) -> None:
    from signoff.keys import action_key
    from tests.helpers import when_key_changes

    workers.start(policy="demo", extra_env={"SIGNOFF_ACTIONS": "examples.actions"})
    # In a process of its own, as the sample agent asks: the examples declare types the tests' actions declare too.
    ask = ("from examples.actions import issue_refund\n"
           "print(issue_refund.request(customer_id='cus_4410', amount=1200, agent='support-bot', reason='churn').id)")
    asked = subprocess.run([sys.executable, "-c", ask], cwd=ROOT, capture_output=True, text=True, timeout=60,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
    action_id = asked.stdout.strip()
    assert asked.returncode == 0, asked.stderr
    wait_status(rt, action_id, Status.PENDING_APPROVAL)
    preview = when_key_changes(rt, action_key(action_id), lambda: rt.store.get(action_id).preview,
                               "the preview is recorded")
    assert preview["text"] == ("cus_4410: paid 1,450.00 USD\n- refunded 0.00 USD\n+ refunded 1,200.00 USD\n"
                               "  left to refund: 250.00 USD")
