"""Errors as RFC 9457 problem details (`application/problem+json`), one message per invalid field."""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from agent_api.models import Problem

MEDIA_TYPE = "application/problem+json"


class ProblemError(Exception):
    def __init__(self, status: int, title: str, detail: str | None = None, errors: dict[str, str] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or title)
        self.problem = Problem(title=title, status=status, detail=detail, errors=errors)
        self.headers = headers or {}


def response(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(problem.model_dump(exclude_none=True), status_code=problem.status, media_type=MEDIA_TYPE,
                        headers=headers)


async def on_problem(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return response(exc.problem, exc.headers)


async def on_invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors: dict[str, str] = {}
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"] if p != "body") or "body"
        errors.setdefault(where, str(err["msg"]))
    return response(Problem(title="Invalid request", status=422, detail="; ".join(f"{k}: {v}" for k, v in
                                                                                  errors.items()), errors=errors))


NOT_FOUND = "No such action for this agent"


def not_found(action_id: str) -> ProblemError:
    # The same answer whether the action does not exist or belongs to another agent: nothing leaks.
    return ProblemError(404, NOT_FOUND, f"no action {action_id!r} for this agent")
