"""`signoff mcp`: an MCP server in front of any other MCP server; every tool call passes the policy.

Every call becomes an action (type = the tool's name, params = its arguments checked against the
tool's own input schema) that Signoff's workers route by their policy; the gate never judges a call
itself. The client's call waits for the verdict: let through by the policy (a short wait) or
approved in Slack, it runs upstream once, on the worker's permit (with the edited arguments, and a
note saying so), and its result is recorded on the action; rejected or expired, it does not run
and the client gets an error result saying why. An identical call made while one waits shares its
action and gets its result: one approval, one upstream call. The tool list is the upstream's own.
fastmcp (the `mcp` extra) is imported only here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
from typing import Any

from fastmcp.client.transports import StdioTransport
from fastmcp.server import create_proxy
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import ToolResult
from mcp import types as mt
from pydantic import TypeAdapter

from signoff import door, lifecycle
from signoff.catalog import ActionType
from signoff.errors import ActionNotFound, InvalidParams, TransitionRefused
from signoff.logging import log
from signoff.models import FINAL, Action, Status, params_hash
from signoff.runs import verdict_of
from signoff.runtime import Runtime

CATEGORY = "coding_tool"  # the category's meaning names MCP tools; `--category TOOL=CATEGORY` overrides
DEFAULT_WAIT = 3600.0
ASKED_TTL = 7 * 24 * 3600  # seconds a held call is remembered for the client to ask again


def _call_key(agent: str, tool: str, params: dict[str, Any]) -> str:
    return f"signoff:mcp-call:{agent}:{tool}:{params_hash(params)}"


def _refused(text: str) -> ToolResult:
    return ToolResult(content=[mt.TextContent(type="text", text=text)], is_error=True)


def _stored(result: ToolResult) -> dict[str, Any]:
    """An upstream result as the action's outcome: an identical call waiting beside it gets the same."""
    return {"content": [c.model_dump(mode="json") for c in result.content], "is_error": bool(
        getattr(result, "is_error", False)), "structured": result.structured_content}


def _restored(stored: Any) -> ToolResult:
    content = _CONTENT.validate_python(stored.get("content") or []) if isinstance(stored, dict) else []
    return ToolResult(content=content, is_error=bool(isinstance(stored, dict) and stored.get("is_error")),
                      structured_content=stored.get("structured") if isinstance(stored, dict) else None)


_CONTENT: TypeAdapter[list[mt.ContentBlock]] = TypeAdapter(list[mt.ContentBlock])


class PolicyGate(Middleware):
    """Asks for every call and waits for the worker's verdict; runs only on the worker's permit, once.

    The gate holds no policy and no decision key: the worker routes each call (a call the policy lets
    run costs one short wait), and the gate checks the permit with the public verify key."""

    def __init__(self, rt: Runtime, *, agent: str, categories: dict[str, str], wait: float) -> None:
        self.rt, self.agent, self.categories, self.wait = rt, agent, categories, wait

    async def on_call_tool(self, context: MiddlewareContext[mt.CallToolRequestParams],
                           call_next: CallNext[mt.CallToolRequestParams, ToolResult]) -> ToolResult:
        name, args = context.message.name, dict(context.message.arguments or {})
        schema: dict[str, Any] = {"type": "object", "additionalProperties": True}
        tool = await context.fastmcp_context.fastmcp.get_tool(name) if context.fastmcp_context else None
        if tool is None:
            return await call_next(context)  # no such tool: the upstream answers, and nothing runs
        schema = tool.parameters or schema
        action_type = ActionType(name=name, category=self.categories.get(name, CATEGORY), params_schema=schema)
        try:
            params = action_type.check_params(args)
        except InvalidParams as invalid:
            return _refused(f"Signoff refused these arguments: {invalid}")
        action = await asyncio.to_thread(self._ask, action_type, _call_key(self.agent, name, params), params)
        log.info("mcp_call_asked", tool=name, action_id=action.id)
        decided = await asyncio.to_thread(self.rt.store.wait_settled, action.id, self.wait, action)
        return await self._after(decided, context, call_next)

    def _ask(self, action_type: ActionType, key: str, params: dict[str, Any]) -> Action:
        """This call's action: the one an identical call asked for already (waiting, or decided and not yet
        run: after a timeout, or of a restarted gate), else a new one."""
        known = self._asked_before(key)
        if known is not None and known.status not in FINAL:
            return known
        self.rt.catalog.declare(action_type, by=self.agent)
        action = lifecycle.request(self.rt, action_type, params, agent=self.agent,
                                   reason=f"{self.agent} calls the MCP tool {action_type.name}")
        # Recorded first, then claimed (SET NX): of two identical calls at once, one action stands and the
        # other call withdraws its own and waits on that one.
        if self.rt.connection.set(key, action.id, nx=True, ex=ASKED_TTL):
            return action
        known = self._asked_before(key)
        if known is None or known.status in FINAL:
            self.rt.connection.set(key, action.id, ex=ASKED_TTL)
            return action
        with contextlib.suppress(TransitionRefused):
            lifecycle.cancel(self.rt, action.id, by=self.agent, note=f"an identical call asked already: {known.id}")
        return known

    def _asked_before(self, key: str) -> Action | None:
        known = self.rt.connection.get(key)
        if known is None:
            return None
        try:
            return self.rt.store.get(known.decode() if isinstance(known, bytes) else known)
        except ActionNotFound:
            return None

    async def _after(self, decided: Action, context: MiddlewareContext[mt.CallToolRequestParams],
                     call_next: CallNext[mt.CallToolRequestParams, ToolResult]) -> ToolResult:
        if decided.status in (Status.RECEIVED, Status.PENDING_APPROVAL):
            return _refused(f"Not run: no decision within {self.wait:g} s. It still waits in Slack as action "
                            f"{decided.id}; call again once someone has approved it.")
        if decided.status != Status.APPROVED:
            return await self._outcome_of(decided)
        try:
            started = door.enter_elsewhere(self.rt, decided, f"mcp:{self.agent}", call_type=context.message.name,
                                           call_agent=self.agent)
        except TransitionRefused:  # an identical call started it (ApprovalUsed among them): its result is ours
            return await self._outcome_of(decided)
        except door.NotPermitted as refused:
            log.error("mcp_call_not_permitted", action_id=decided.id, reason=str(refused))
            return _refused(f"Not run: {refused}.")
        verdict = verdict_of(started, started.params)
        if started.original_params is not None:
            verdict = verdict_of(started, started.original_params)
        try:
            result = await call_next(context.copy(message=context.message.model_copy(
                update={"arguments": started.params})))
        except Exception as failed:
            await asyncio.to_thread(door.leave, self.rt, started, error=f"{type(failed).__name__}: {failed}",
                                    by=f"mcp:{self.agent}")
            raise
        await asyncio.to_thread(door.leave, self.rt, started, result=_stored(result), by=f"mcp:{self.agent}",
                                error="the upstream tool returned an error" if result.is_error else None)
        if verdict.decision == "edit":
            result.content = [mt.TextContent(type="text", text=verdict.message or "edited"), *result.content]
        return result

    async def _outcome_of(self, decided: Action) -> ToolResult:
        """A decided call this gate does not run: refused, or run by an identical call (its result)."""
        if decided.status in (Status.RUNNING, Status.APPROVED):
            decided = await asyncio.to_thread(self.rt.store.wait_for_status, decided.id, FINAL, self.wait)
        if decided.status in (Status.SUCCEEDED, Status.FAILED) and isinstance(decided.result, dict):
            return _restored(decided.result)
        if decided.status == Status.FAILED:
            return _refused(f"The call failed: {decided.error}")
        if decided.status in (Status.RUNNING, Status.APPROVED):
            return _refused(f"Not run here: an identical call is running action {decided.id}; call again later.")
        return _refused(verdict_of(decided, decided.params).message or "Not run.")


_LAUNCHERS = ("npx", "uvx", "pipx", "bunx", "pnpm", "yarn", "node", "python", "python3", "deno", "bun")


def agent_name(argv: list[str]) -> str:
    """Who asks, named by the server it fronts: `npx -y @modelcontextprotocol/server-filesystem .` is
    `mcp:server-filesystem`, not `mcp:npx`."""
    words = [os.path.basename(argv[0]), *argv[1:]]
    while words and words[0] in _LAUNCHERS:
        rest = [w for w in words[1:] if not w.startswith("-") and w not in ("dlx", "exec", "run", "-m")]
        if not rest:
            break
        words = [rest[0].rstrip("/").split("/")[-1].split("@")[0] or rest[0]]
    return f"mcp:{words[0] if words else os.path.basename(argv[0])}"


def serve(rt: Runtime, *, upstream: str | None, upstream_url: str | None, categories: dict[str, str],
          wait: float = DEFAULT_WAIT, http_port: int | None = None, agent: str | None = None) -> None:
    rt.require_verify_key()  # it runs only on the worker's permits: without the verify key it runs nothing
    if upstream:
        argv = shlex.split(upstream)
        # The upstream gets this process's environment, as it would if started by the MCP client itself.
        target: Any = StdioTransport(command=argv[0], args=argv[1:], env=dict(os.environ), cwd=os.getcwd())
        agent = agent or agent_name(argv)
    else:
        target, agent = upstream_url, agent or f"mcp:{upstream_url}"
    proxy = create_proxy(target, name="signoff-gate")
    proxy.add_middleware(PolicyGate(rt, agent=agent, categories=categories, wait=wait))
    if http_port is not None:
        proxy.run(transport="http", host="127.0.0.1", port=http_port, show_banner=False)
    else:
        proxy.run(show_banner=False)
