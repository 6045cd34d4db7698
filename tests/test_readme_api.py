"""The HTTP API page's curl block (docs/http-api.md), run verbatim in a shell against `signoff sandbox`
(what `make run` starts): the sandbox serves the agents' API at its own address, and its banner says so."""

from __future__ import annotations

import os
import re
import subprocess

from signoff import Signoff, Status
from tests.conftest import ROOT
from tests.helpers import sandbox_process, when_key_changes


def _readme_block() -> str:
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "docs" / "http-api.md").read_text(), flags=re.S)
    return next(b for b in blocks if "api/v1/actions" in b and "Idempotency-Key" in b)


def test_the_readme_curl_block_runs_as_pasted_against_the_sandbox(rt) -> None:
    with sandbox_process() as (box, port):
        shell: subprocess.Popen[str] | None = None
        try:
            assert box.stdout is not None
            banner = []
            for line in box.stdout:  # blocks on its output; printed once the web process answers
                banner.append(line)
                if line.startswith("Ctrl-C"):
                    break
            text = "".join(banner)
            assert f"Agents' HTTP API: http://127.0.0.1:{port}/api/v1/" in text
            assert f"export SIGNOFF_API_URL=http://127.0.0.1:{port}" in text and "SIGNOFF_POLICY=demo" in text

            script = _readme_block().replace("127.0.0.1:8088", f"127.0.0.1:{port}")  # the only change: the port
            shell = subprocess.Popen(["bash", "-c", script], cwd=ROOT, text=True, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=os.environ)
            assert shell.stdout is not None
            said = shell.stdout.readline()  # "waiting in the sandbox: ID", once the request is in
            action_id = said.rsplit(" ", 1)[-1].strip()
            assert said.startswith("waiting in the sandbox: ") and action_id, said
            when_key_changes(rt, f"signoff:action:{action_id}",
                             lambda: rt.store.get(action_id).status == Status.PENDING_APPROVAL, "held for a person")
            Signoff(connection=rt.connection).decide(action_id, "approve", by="slack:U0ALICE")
            out, err = shell.communicate(timeout=90)
            assert shell.returncode == 0, err
            assert '"status":"succeeded"' in out.replace(" ", ""), out
        finally:
            if shell is not None and shell.poll() is None:
                shell.kill()  # a long-poll still open would keep the web process from stopping
