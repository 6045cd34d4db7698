"""Framework adapters end to end: the framework's own offline model, a real worker that imports the
agent module (as an operator's would), the real bot and the Slack sandbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.slack_helpers import approval_message, opened_view

ALICE, BOB = "U0ALICE", "U0BOB"


@pytest.fixture
def agent_worker(workers: Any, slack_env: dict[str, str]) -> Callable[..., Any]:
    """A worker that also imports `module`, so it knows the adapted agent and can resume its runs."""
    def start(module: str, policy: str | None = None) -> Any:
        return workers.start(policy=policy, extra_env={**slack_env, "SIGNOFF_ACTIONS": f"tests.actions,{module}"})
    return start


def approve(sandbox: Any, action_id: str) -> None:
    sandbox.interactions.click(approval_message(sandbox, action_id), "signoff_approve", ALICE)


def edit(sandbox: Any, action_id: str, fields: dict[str, str]) -> None:
    sandbox.interactions.click(approval_message(sandbox, action_id), "signoff_edit", ALICE)
    modal = opened_view(sandbox, "signoff_edit_modal")
    status, body = sandbox.interactions.submit(modal.id, ALICE, {f"p:{k}": v for k, v in fields.items()})
    assert status == 200 and not body, body


def reject(sandbox: Any, action_id: str, note: str) -> None:
    sandbox.interactions.click(approval_message(sandbox, action_id), "signoff_reject", BOB)
    modal = opened_view(sandbox, "signoff_reject_modal")
    sandbox.interactions.submit(modal.id, BOB, {"reason": note})
