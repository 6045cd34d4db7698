"""`/api/v1/`: the routes an agent's token opens. None of them decides anything."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from agent_api import idempotency
from agent_api.auth import agent_of
from agent_api.hub import TransitionHub
from agent_api.models import ActionRequest, ActionView, Problem, ResultReport, TypeDeclaration, TypeView
from agent_api.problems import ProblemError, not_found
from signoff import lifecycle
from signoff.catalog import ActionType, DeclarationRefused, NotYourType
from signoff.errors import ActionNotFound, InvalidParams, TransitionRefused, UnknownActionType
from signoff.models import Action, Status
from signoff.runtime import Runtime
from signoff.tokens import AgentToken

BASE = "/api/v1"
MAX_WAIT = 60.0
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {"application/problem+json": {}}} for status in (401, 403, 404, 409, 413,
                                                                                          422)}


def _agent(request: Request) -> AgentToken:
    return agent_of(request.app.state.runtime, request)


# Module level, so FastAPI can read it from the string annotations `from __future__` makes.
Agent = Annotated[AgentToken, Depends(_agent)]


def api_router(rt: Runtime, hub: TransitionHub) -> APIRouter:
    """The routes; the app that includes them keeps `rt` as `app.state.runtime` for the token check."""
    router = APIRouter(prefix=BASE, tags=["agents"], responses=_PROBLEMS)


    def own(action_id: str, token: AgentToken) -> Action:
        try:
            action = rt.store.get(action_id)
        except ActionNotFound:
            raise not_found(action_id) from None
        if action.agent != token.agent:
            raise not_found(action_id)
        return action

    @router.post("/actions", status_code=201, response_model=ActionView, summary="Ask for an action")
    def submit(body: ActionRequest, response: Response, token: Agent,
               idempotency_key: Annotated[str | None, Header(max_length=255)] = None) -> ActionView:
        if not token.allows(body.type):
            raise ProblemError(403, "Type not allowed", f"this token may not submit {body.type!r}")
        try:
            action_type = rt.catalog.get(body.type)
        except UnknownActionType as unknown:
            raise ProblemError(422, "Unknown action type", str(unknown), {"type": str(unknown)}) from None
        action_id = uuid.uuid4().hex[:16]
        if idempotency_key is not None:
            claim = idempotency.claim(rt.connection, token.agent, idempotency_key,
                                      idempotency.fingerprint(body.model_dump()), action_id)
            if not claim.same_request:
                raise ProblemError(422, "Idempotency-Key reused", "this key was used for a different request")
            if not claim.first:
                try:
                    return ActionView.of(own(claim.action_id, token), BASE)
                except ProblemError:  # the first request is still writing it
                    raise ProblemError(409, "Request in progress", "a request with this Idempotency-Key is "
                                       "still being processed; retry shortly", headers={"Retry-After": "1"}) from None
        try:
            action = lifecycle.request(rt, action_type, body.params, agent=token.agent, reason=body.reason,
                                       review=body.review, submitted_by=f"agent:{token.agent}", action_id=action_id)
        except BaseException as failed:
            # Nothing was created: a retry with the same key must be free to create it, not meet 409 for a day.
            if idempotency_key is not None:
                idempotency.release(rt.connection, token.agent, idempotency_key, action_id)
            if isinstance(failed, InvalidParams):
                raise ProblemError(422, "Invalid parameters", str(failed),
                                   {f"params.{k}": v for k, v in failed.fields.items()} or None) from None
            raise
        response.headers["Location"] = f"{BASE}/actions/{action.id}"
        return ActionView.of(action, BASE)

    @router.get("/actions/{action_id}", response_model=ActionView, summary="An action of this agent's")
    def show(action_id: str, token: Agent) -> ActionView:
        return ActionView.of(own(action_id, token), BASE)

    @router.get("/actions/{action_id}/wait", response_model=ActionView,
                summary="Wait until the action is settled (decided, or ran), or `timeout` seconds pass")
    async def wait(action_id: str, token: Agent,
                   timeout: Annotated[float, Query(ge=0, le=MAX_WAIT)] = 30.0,
                   until: Annotated[list[Status] | None, Query(description="also stop at these statuses")] = None
                   ) -> ActionView:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        with hub.watching(action_id) as changed:  # watch before reading: no transition slips between
            action = await run_in_threadpool(own, action_id, token)
            while (not action.settled and action.status not in (until or ())
                   and (remaining := deadline - loop.time()) > 0):
                try:
                    await asyncio.wait_for(changed.wait(), remaining)
                except TimeoutError:
                    break
                changed.clear()
                action = await run_in_threadpool(own, action_id, token)
        return ActionView.of(action, BASE)

    @router.post("/actions/{action_id}/cancel", response_model=ActionView, summary="Withdraw an action not started")
    def cancel(action_id: str, token: Agent) -> ActionView:
        own(action_id, token)
        try:
            return ActionView.of(lifecycle.cancel(rt, action_id, by=f"agent:{token.agent}"), BASE)
        except TransitionRefused as refused:
            raise ProblemError(409, "Cannot cancel", str(refused)) from None

    @router.post("/actions/{action_id}/rerequest", status_code=201, response_model=ActionView,
                 summary="Ask again for one's own expired action: a new action, linked to it")
    def rerequest(action_id: str, token: Agent) -> ActionView:
        own(action_id, token)
        try:
            return ActionView.of(lifecycle.rerequest(rt, action_id, by=f"agent:{token.agent}"), BASE)
        except TransitionRefused as refused:
            raise ProblemError(409, "Cannot ask again",
                               f"only an expired action can be asked again: {refused}") from None

    @router.post("/actions/{action_id}/result", response_model=ActionView,
                 summary="Report how an approved action the agent performs itself ended")
    def result(action_id: str, report: ResultReport, token: Agent) -> ActionView:
        action = own(action_id, token)
        try:
            done = lifecycle.report(rt, action, report.status, report.result, report.error, by=f"agent:{token.agent}")
        except TransitionRefused as refused:
            raise ProblemError(409, "Cannot report a result", str(refused)) from None
        return ActionView.of(done, BASE)

    @router.get("/types", response_model=list[TypeView], summary="Registered action types and their JSON Schema")
    def types(token: Agent) -> list[TypeView]:
        return [TypeView.of(t) for t in sorted(rt.catalog.all(), key=lambda t: t.name) if token.allows(t.name)]

    @router.post("/types", status_code=201, response_model=TypeView,
                 summary="Declare a type the agent performs itself once approved (if the token allows)")
    def declare(body: TypeDeclaration, token: Agent) -> TypeView:
        if not token.can_declare:
            raise ProblemError(403, "Not allowed to declare", "this token may not declare action types")
        if body.params_schema.get("type", "object") != "object":
            raise ProblemError(422, "Invalid schema", "params_schema must describe an object",
                               {"params_schema": "must be a JSON Schema of type object"})
        action_type = ActionType(name=body.name, category=body.category, params_schema=body.params_schema)
        try:
            action_type.params_model  # noqa: B018 - a schema Signoff cannot validate with is refused now
            rt.catalog.declare(action_type, by=token.agent)
        except (DeclarationRefused, NotYourType) as refused:
            raise ProblemError(409, "Declaration refused", str(refused)) from None
        except (TypeError, ValueError, KeyError) as bad:
            raise ProblemError(422, "Invalid schema", str(bad), {"params_schema": str(bad)}) from None
        return TypeView.of(action_type)

    return router
