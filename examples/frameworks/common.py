"""What the framework examples share: the prompt, and waiting for the worker to finish the run."""

from __future__ import annotations

from typing import Any

from signoff.runs import Run

SANDBOX = "http://127.0.0.1:8088"


def report(run: Run, wait: Any) -> None:
    if run.status == "paused":
        print(f"Paused: {len(run.calls)} tool call(s) wait in Slack (actions {', '.join(run.calls.values())}).\n"
              f"Decide in the sandbox ({SANDBOX}); a Signoff worker resumes the run, not this process.")
        run = wait(run.id, timeout=900)
    print(f"Run {run.id}: {run.status}: {run.output or run.error}")
