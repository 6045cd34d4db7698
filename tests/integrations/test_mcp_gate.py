"""`signoff mcp` in front of a real upstream MCP server process (stdio), driven by a real MCP client."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from fastmcp import Client
from fastmcp.client.transports import StdioTransport

from signoff import Status
from tests.agents.common import runs_recorded
from tests.conftest import ROOT
from tests.integrations.conftest import approve, edit, reject

UPSTREAM = f"{sys.executable} -m tests.agents.mcp_upstream"
POLICY = "rules:\n  - name: deletions\n    match: {type: delete_file}\n    mode: approve\n" \
         "  - name: rest\n    mode: auto\n"


def _client(env: dict[str, str]) -> Client[Any]:
    gate = StdioTransport(command=sys.executable, args=["-m", "signoff_app.cli", "mcp", "--upstream", UPSTREAM],
                          env={**os.environ, **env}, cwd=str(ROOT))
    return Client(gate)


def _held(rt: Any, sandbox: Any) -> str:
    """The id of the delete_file action the gate holds, once its Slack message is out."""
    return sandbox.wait_for(lambda: next((a.id for a in rt.store.newest(Status.PENDING_APPROVAL, 5)
                                          if a.type == "delete_file" and a.slack.get("ts")), None), recheck=0.05)


def _with_decision(env: dict[str, str], decide: Callable[[], None]) -> Any:
    async def main() -> Any:
        async with _client(env) as client:
            call: Awaitable[Any] = client.call_tool("delete_file", {"path": "/tmp/report.csv"}, raise_on_error=False)
            task = asyncio.ensure_future(call)
            await asyncio.to_thread(decide)  # a person decides in Slack while the client's call waits
            return await task
    return asyncio.run(main())


def _env(policy_file: Any, slack_env: dict[str, str]) -> dict[str, str]:
    return {**slack_env, "SIGNOFF_POLICY": policy_file(POLICY)}


def test_the_gate_lists_the_upstream_tools_and_passes_allowed_calls_straight_through(
        rt, workers, policy_file, slack_env) -> None:
    env = _env(policy_file, slack_env)
    workers.start(policy=env["SIGNOFF_POLICY"], extra_env=slack_env)

    async def main() -> tuple[Any, Any, Any]:
        async with _client(env) as gated, Client(StdioTransport(
                command=sys.executable, args=["-m", "tests.agents.mcp_upstream"], env=dict(os.environ),
                cwd=str(ROOT))) as upstream:
            return (await gated.list_tools(), await upstream.list_tools(),
                    await gated.call_tool("read_file", {"path": "/etc/motd"}))
    gated_tools, upstream_tools, result = asyncio.run(main())
    assert [(t.name, t.input_schema) for t in gated_tools] == [(t.name, t.input_schema) for t in upstream_tools]
    assert result.content[0].text == "contents of /etc/motd"
    assert [r["tool"] for r in runs_recorded(rt.connection)] == ["read_file"]


def test_a_held_call_runs_once_approved(rt, workers, sandbox, bot, policy_file, slack_env) -> None:
    env = _env(policy_file, slack_env)
    workers.start(policy=env["SIGNOFF_POLICY"], extra_env=slack_env)
    result = _with_decision(env, lambda: approve(sandbox, _held(rt, sandbox)))
    assert not result.is_error and result.content[0].text == "deleted /tmp/report.csv"
    assert [r["args"] for r in runs_recorded(rt.connection)] == [{"path": "/tmp/report.csv", "force": False}]


def test_an_edited_call_runs_with_the_edit_and_says_so(rt, workers, sandbox, bot, policy_file, slack_env) -> None:
    env = _env(policy_file, slack_env)
    workers.start(policy=env["SIGNOFF_POLICY"], extra_env=slack_env)
    result = _with_decision(env, lambda: edit(sandbox, _held(rt, sandbox), {"path": "/tmp/old.csv"}))
    assert "edited the arguments" in result.content[0].text and result.content[-1].text == "deleted /tmp/old.csv"
    assert [r["args"]["path"] for r in runs_recorded(rt.connection)] == ["/tmp/old.csv"]


def test_a_rejected_call_never_reaches_the_upstream(rt, workers, sandbox, bot, policy_file, slack_env) -> None:
    env = _env(policy_file, slack_env)
    workers.start(policy=env["SIGNOFF_POLICY"], extra_env=slack_env)
    result = _with_decision(env, lambda: reject(sandbox, _held(rt, sandbox), "We still need that report"))
    assert result.is_error and "We still need that report" in result.content[0].text
    assert runs_recorded(rt.connection) == []


def test_a_held_call_outlives_the_gate_and_its_decision_is_kept_for_the_same_call(
        rt, workers, sandbox, bot, policy_file, slack_env) -> None:
    env = _env(policy_file, slack_env)
    workers.start(policy=env["SIGNOFF_POLICY"], extra_env=slack_env)

    async def ask() -> Any:
        gate = StdioTransport(command=sys.executable, args=["-m", "signoff_app.cli", "mcp", "--upstream", UPSTREAM,
                                                            "--wait", "0.2"], env={**os.environ, **env}, cwd=str(ROOT))
        async with Client(gate) as client:  # a new gate process each time: the first one is gone
            return await client.call_tool("delete_file", {"path": "/tmp/report.csv"}, raise_on_error=False)

    first = asyncio.run(ask())
    assert first.is_error and "still waits in Slack" in first.content[0].text
    action_id = _held(rt, sandbox)
    approve(sandbox, action_id)
    assert rt.store.wait_for_status(action_id, [Status.APPROVED], 20).status == Status.APPROVED
    again = asyncio.run(ask())
    assert not again.is_error and again.content[0].text == "deleted /tmp/report.csv"
    assert [a.id for a in rt.store.newest(limit=10) if a.type == "delete_file"] == [action_id]  # asked once
    assert len(runs_recorded(rt.connection)) == 1


def test_a_gate_without_the_workers_policy_never_runs_what_the_worker_holds(rt, workers, sandbox, bot, policy_file,
                                                                           slack_env) -> None:
    # The worker holds delete_file; the gate starts with no SIGNOFF_POLICY (an MCP client strips the
    # environment), whose default would let it run: the gate asks and waits, it never decides.
    workers.start(policy=policy_file(POLICY), extra_env=slack_env)

    async def main() -> Any:
        gate = StdioTransport(command=sys.executable, args=["-m", "signoff_app.cli", "mcp", "--upstream", UPSTREAM,
                                                            "--wait", "0.5"],
                              env={k: v for k, v in {**os.environ, **slack_env}.items() if k != "SIGNOFF_POLICY"},
                              cwd=str(ROOT))
        async with Client(gate) as client:
            return await client.call_tool("delete_file", {"path": "/tmp/report.csv"}, raise_on_error=False)

    result = asyncio.run(main())
    assert result.is_error and "still waits in Slack" in result.content[0].text
    assert runs_recorded(rt.connection) == []


def test_two_identical_calls_share_one_approval_and_one_upstream_run(rt, workers, sandbox, bot, policy_file,
                                                                     slack_env) -> None:
    env = _env(policy_file, slack_env)
    workers.start(policy=env["SIGNOFF_POLICY"], extra_env=slack_env)

    async def main() -> list[Any]:
        # Two MCP clients, each with its gate, make the same call while it waits: one action between them.
        async with _client(env) as one, _client(env) as two:
            calls = [asyncio.ensure_future(client.call_tool("delete_file", {"path": "/tmp/report.csv"},
                                                            raise_on_error=False)) for client in (one, two)]
            await asyncio.to_thread(lambda: approve(sandbox, _held(rt, sandbox)))
            return list(await asyncio.gather(*calls))

    first, second = asyncio.run(main())
    assert [r.content[0].text for r in (first, second)] == ["deleted /tmp/report.csv"] * 2
    assert len(runs_recorded(rt.connection)) == 1  # one approval, one upstream call
    [action] = [a for a in rt.store.newest(limit=10) if a.type == "delete_file" and a.status != Status.CANCELED]
    assert action.status == Status.SUCCEEDED and action.result["content"][0]["text"] == "deleted /tmp/report.csv"
