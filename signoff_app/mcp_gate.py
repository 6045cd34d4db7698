"""`signoff mcp`: an MCP server in front of any other MCP server; every tool call passes the policy.

Calls the policy lets run go straight through. A held call becomes an action (type = the tool's
name, params = its arguments checked against the tool's own input schema) and the client's call waits
for the decision in Slack: approved, it runs upstream (with the edited arguments, and a note saying
so); rejected or expired, it does not run and the client gets an error result saying why. The tool
list is the upstream's own. fastmcp (the `mcp` extra) is imported only here.
"""

from __future__ import annotations

import asyncio
import os
import shlex
from typing import Any

from fastmcp.client.transports import StdioTransport
from fastmcp.server import create_proxy
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import ToolResult
from mcp import types as mt

from policies.routing import runs_now
from signoff import lifecycle
from signoff.catalog import ActionType
from signoff.errors import ActionNotFound, InvalidParams
from signoff.logging import log
from signoff.models import Action, Status, params_hash
from signoff.runs import verdict_of
from signoff.runtime import Runtime

CATEGORY = "coding_tool"  # the category's meaning names MCP tools; `--category TOOL=CATEGORY` overrides
DEFAULT_WAIT = 3600.0
ASKED_TTL = 7 * 24 * 3600  # seconds a held call is remembered for the client to ask again


def _call_key(agent: str, tool: str, params: dict[str, Any]) -> str:
    return f"signoff:mcp-call:{agent}:{tool}:{params_hash(params)}"


def _refused(text: str) -> ToolResult:
    return ToolResult(content=[mt.TextContent(type="text", text=text)], is_error=True)


class PolicyGate(Middleware):
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
        key = _call_key(self.agent, name, params)
        action = self._asked_before(key)
        if action is None:
            self.rt.catalog.declare(action_type)
            action = lifecycle.request(self.rt, action_type, params, agent=self.agent,
                                       reason=f"{self.agent} calls the MCP tool {name}")
            if runs_now(self.rt.policy, lifecycle.subject(action)):
                return await call_next(context)  # recorded above; the worker's routing logs the rule
            # The same call asked again (after a timeout, or of a restarted gate) finds this action and its decision.
            self.rt.connection.set(key, action.id, ex=ASKED_TTL)
        log.info("mcp_call_held", tool=name, action_id=action.id)
        decided = await asyncio.to_thread(self.rt.store.wait_settled, action.id, self.wait, action)
        result = await self._after(decided, params, context, call_next)
        if decided.status not in (Status.RECEIVED, Status.PENDING_APPROVAL):
            self.rt.connection.delete(key)  # answered: the next identical call is a new request
        return result

    def _asked_before(self, key: str) -> Action | None:
        known = self.rt.connection.get(key)
        if known is None:
            return None
        try:
            return self.rt.store.get(known.decode() if isinstance(known, bytes) else known)
        except ActionNotFound:
            return None

    async def _after(self, decided: Action, params: dict[str, Any],
                     context: MiddlewareContext[mt.CallToolRequestParams],
                     call_next: CallNext[mt.CallToolRequestParams, ToolResult]) -> ToolResult:
        if decided.status in (Status.RECEIVED, Status.PENDING_APPROVAL):
            return _refused(f"Not run: no decision within {self.wait:g} s. It still waits in Slack as action "
                            f"{decided.id}; call again once someone has approved it.")
        verdict = verdict_of(decided, params)
        if verdict.decision != "reject" and not lifecycle.approval_verifies(self.rt, decided):
            log.error("mcp_approval_not_signed", action_id=decided.id, decided_by=decided.decided_by)
            return _refused("Not run: Signoff could not verify this approval's signature.")
        if verdict.decision == "reject":
            return _refused(verdict.message or "Not run.")
        result = await call_next(context.copy(message=context.message.model_copy(update={"arguments": verdict.args})))
        if verdict.decision == "edit":
            result.content = [mt.TextContent(type="text", text=verdict.message or "edited"), *result.content]
        return result


def serve(rt: Runtime, *, upstream: str | None, upstream_url: str | None, categories: dict[str, str],
          wait: float = DEFAULT_WAIT, http_port: int | None = None) -> None:
    rt.require_decision_key()  # it runs what people approved: without the key no approval can be verified
    rt.policy  # noqa: B018 - a broken policy file stops the gate at start, not at the first call
    if upstream:
        argv = shlex.split(upstream)
        # The upstream gets this process's environment, as it would if started by the MCP client itself.
        target: Any = StdioTransport(command=argv[0], args=argv[1:], env=dict(os.environ), cwd=os.getcwd())
        agent = f"mcp:{os.path.basename(argv[0])}"
    else:
        target, agent = upstream_url, f"mcp:{upstream_url}"
    proxy = create_proxy(target, name="signoff-gate")
    proxy.add_middleware(PolicyGate(rt, agent=agent, categories=categories, wait=wait))
    if http_port is not None:
        proxy.run(transport="http", host="127.0.0.1", port=http_port, show_banner=False)
    else:
        proxy.run(show_banner=False)
