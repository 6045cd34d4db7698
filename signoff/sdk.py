"""The Python SDK agents use: declare actions, request them, wait for the outcome."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Generic, ParamSpec, TypeVar

import redis
import structlog
from pydantic import BaseModel

from signoff import inbox, lifecycle, registry
from signoff.audit import read_events
from signoff.catalog import ActionType
from signoff.config import Settings, get_settings
from signoff.connection import connect
from signoff.errors import SignoffError
from signoff.logging import configure_logging
from signoff.models import Action, AuditEvent, Outcome, Status
from signoff.remote import ApiClient
from signoff.runtime import Runtime
from signoff.schema import IDEMPOTENCY_PARAM, model_from_signature

P = ParamSpec("P")
R = TypeVar("R")

_RESERVED = ("agent", "reason", "review")


def _agent_role(what: str) -> SignoffError:
    return SignoffError(f"a restricted Redis user (SIGNOFF_REDIS_ROLE=agent) may not {what}: do it over the HTTP "
                        "API with an agent token (SIGNOFF_API_URL, SIGNOFF_AGENT_TOKEN)")


class Ticket:
    """An agent's handle on one requested action."""

    def __init__(self, signoff: Signoff, action_id: str) -> None:
        self._signoff = signoff
        self.id = action_id

    def __repr__(self) -> str:
        return f"<Ticket {self.id} {self.status}>"

    @property
    def action(self) -> Action:
        return self._signoff.get(self.id)

    @property
    def status(self) -> Status:
        try:
            return self.action.status
        except inbox.NotYetRecorded:
            return Status.RECEIVED  # queued by a restricted agent user; a worker records it next

    def wait(self, timeout: float = 60.0) -> Outcome:
        """Blocks until the action is settled (ran, was rejected...) or `timeout` passes; see `.status`."""
        if self._signoff.api is not None:
            return Outcome.of(self._signoff.api.wait(self.id, timeout))
        return Outcome.of(self._signoff.runtime.store.wait_settled(self.id, self._recorded(timeout)))

    def wait_until(self, *statuses: Status, timeout: float = 60.0) -> Action:
        """Blocks until the action is in one of `statuses` (e.g. PENDING_APPROVAL), is settled, or `timeout`
        passes."""
        if self._signoff.api is not None:
            return self._signoff.api.wait(self.id, timeout, until=statuses)
        wanted = set(statuses)
        return self._signoff.runtime.store.wait_until(self.id, lambda a: a.status in wanted or a.settled,
                                                      self._recorded(timeout))

    def _recorded(self, timeout: float) -> float:
        """What is left of `timeout` once the action exists (at once, unless a request job records it)."""
        if not self._signoff.restricted:
            return timeout
        return inbox.wait_recorded(self._signoff.runtime, self.id, timeout)

    def cancel(self, note: str | None = None) -> Action:
        if self._signoff.api is not None:
            return self._signoff.api.cancel(self.id)
        if self._signoff.restricted:
            raise _agent_role("cancel an action")
        action = self.action
        return lifecycle.cancel(self._signoff.runtime, self.id, by=f"agent:{action.agent}", note=note)

    def rerequest(self) -> Ticket:
        """This action expired: ask again, as a new action linked to it; returns the new one's ticket."""
        if self._signoff.api is not None:
            return Ticket(self._signoff, self._signoff.api.rerequest(self.id).id)
        if self._signoff.restricted:
            raise _agent_role("ask again")
        return Ticket(self._signoff, lifecycle.rerequest(self._signoff.runtime, self.id,
                                                         by=f"agent:{self.action.agent}").id)

    def report(self, status: str, result: Any = None, error: str | None = None) -> Action:
        """For an action the agent performs itself once approved: how it ended, for the audit log."""
        if self._signoff.api is not None:
            return self._signoff.api.report(self.id, status, result, error)
        if self._signoff.restricted:
            raise _agent_role("report an outcome")
        action = self.action
        return lifecycle.report(self._signoff.runtime, action, "succeeded" if status == "succeeded" else "failed",
                                result, error, by=f"agent:{action.agent}")


class ActionHandle(Generic[P, R]):
    """What `@signoff.action` returns: `.request(...)` asks for sign-off; workers run `.func`."""

    def __init__(self, signoff: Signoff, func: Callable[P, R], action_type: ActionType) -> None:
        self.signoff = signoff
        self.func = func
        self.action_type = action_type

    @property
    def name(self) -> str:
        return self.action_type.name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"{self.name} needs sign-off: call {self.name}.request(..., agent=..., reason=...)")

    def request(self, *, agent: str, reason: str, review: bool = False, **params: Any) -> Ticket:
        if self.signoff.api is not None:  # the agent's name comes from its token; `agent` is for the Redis SDK
            return Ticket(self.signoff, self.signoff.api.submit(self.name, params, reason, review).id)
        if self.signoff.restricted:
            return Ticket(self.signoff, inbox.send(self.signoff.runtime, self.action_type, params, agent=agent,
                                                   reason=reason, review=review))
        # Every request restores its own type where it is missing (a Redis that lost it): one HSETNX.
        action = lifecycle.request(self.signoff.runtime, self.action_type, params, agent=agent, reason=reason,
                                   review=review, restore=[self.action_type])
        return Ticket(self.signoff, action.id)


class Signoff:
    """Entry point for agents. Configuration comes from the environment (REDIS_URL, SIGNOFF_*)."""

    def __init__(self, redis_url: str | None = None, *, connection: redis.Redis | None = None,
                 settings: Settings | None = None, api_url: str | None = None, token: str | None = None) -> None:
        """Redis (REDIS_URL, or the embedded server) by default; the HTTP API with an agent token when
        `api_url` and `token` are given, or SIGNOFF_API_URL and SIGNOFF_AGENT_TOKEN are set."""
        self._connection = connection
        self._redis_url = redis_url
        self._settings = settings
        self._runtime: Runtime | None = None
        self._declared: list[ActionType] = []
        env = settings or get_settings()
        api_url = api_url or (env.api_url if connection is None and redis_url is None else None)
        token = token or (env.agent_token.get_secret_value() if env.agent_token else None)
        if api_url and not token:
            raise SignoffError("the Signoff API needs an agent token: SIGNOFF_AGENT_TOKEN or token=... "
                               "(`signoff agents token create NAME`)")
        self.api = ApiClient(api_url, token) if api_url and token else None
        #: A restricted Redis user (SIGNOFF_REDIS_ROLE=agent): requests are queued for a worker to record.
        self.restricted = self.api is None and env.redis_role == "agent"

    @property
    def runtime(self) -> Runtime:
        # Connect on first use, so that declaring actions at import time needs no Redis.
        if self.api is not None:
            raise SignoffError("this Signoff talks to the HTTP API with an agent token: it has no Redis access")
        if self._runtime is None:
            settings = self._settings or get_settings()
            if not structlog.is_configured():
                # An agent's own output comes first: Signoff's audit lines belong to the workers' logs,
                # unless SIGNOFF_LOG_LEVEL asks for them here too.
                asked = "log_level" in settings.model_fields_set
                configure_logging(settings.log_format, settings.log_level if asked else "warning")
            connection = self._connection or connect(self._redis_url)
            self._runtime = Runtime(connection=connection, settings=self._settings)
            if not self.restricted:  # a restricted user may not write the catalogue: the worker's code has it
                self.register()
        return self._runtime

    @property
    def declared(self) -> list[ActionType]:
        return list(self._declared)

    def register(self) -> None:
        """Writes every action declared on this instance to the shared catalogue (done on connecting).

        A declaration that differs from what Signoff's workers registered from their own code is refused.
        """
        for action_type in self._declared:
            self.runtime.catalog.declare(action_type)

    def action(self, name: str, *, category: str | None = None, retries: int = 0, owner: str | None = None,
               undo: str | None = None, preview: Callable[..., Any] | None = None,
               ) -> Callable[[Callable[P, R]], ActionHandle[P, R]]:
        """Declares a function as an action that needs sign-off; a worker runs it once allowed.

        `owner` is the Slack user ID told when someone flags it; `undo` names an action type (taking
        `action_id`) that a reviewer may request, through approval, to undo it. `preview`: a function of
        the same parameters, with no side effects, returning what the action would change; the reviewer
        sees it, and the run waits again if it changed since the yes (see signoff.previews).
        """

        def declare(func: Callable[P, R]) -> ActionHandle[P, R]:
            clashes = [p for p in inspect.signature(func).parameters if p in _RESERVED]
            if clashes:
                raise SignoffError(f"{func.__qualname__}: parameter names {clashes} are reserved by Signoff")
            if func.__module__ == "__main__":
                raise SignoffError(f"{func.__qualname__} is defined in __main__; a worker cannot import it. "
                                   "Define actions in a module both the agent and the worker import.")
            params_model = model_from_signature(func, name)
            action_type = ActionType(
                name=name, category=category, func=f"{func.__module__}.{func.__qualname__}",
                params_schema=params_model.model_json_schema(),
                max_retries=retries, owner=owner, undo=undo,
            )
            # In this process's registry: a worker that imports this module may run `func`, and only it.
            registry.add(registry.LocalAction(action_type, func, params_model,
                                              IDEMPOTENCY_PARAM in inspect.signature(func).parameters, preview))
            self._declared.append(action_type)
            if self._runtime is not None:
                self._runtime.catalog.declare(action_type)
            return ActionHandle(self, func, action_type)

        return declare

    def declare(self, name: str, *, params: type[BaseModel], category: str | None = None,
                owner: str | None = None) -> ActionType:
        """Declares an action the agent performs itself once approved (no worker function)."""
        return self.declare_schema(name, params.model_json_schema(), category=category, owner=owner)

    def declare_schema(self, name: str, params_schema: dict[str, Any], *, category: str | None = None,
                       owner: str | None = None, agent: str | None = None) -> ActionType:
        """Like `declare`, with the parameters as a JSON Schema (from another language, a tool's input...).
        `agent`: whose type it is; another agent may not change it (over the API, the token's agent)."""
        action_type = ActionType(name=name, category=category, params_schema=params_schema, owner=owner)
        if self.api is not None:
            self.api.declare(name, params_schema, category)
        elif self.restricted:
            raise _agent_role("declare a type")
        else:
            self.runtime.catalog.declare(action_type, by=agent)
        return action_type

    def submit(self, type: str, params: dict[str, Any], *, agent: str, reason: str,
               review: bool = False) -> Ticket:
        """Requests an action by type name, for agents without the function at hand."""
        if self.api is not None:
            return Ticket(self, self.api.submit(type, params, reason, review).id)
        action_type = self.runtime.catalog.get(type)
        if self.restricted:
            return Ticket(self, inbox.send(self.runtime, action_type, params, agent=agent, reason=reason,
                                           review=review))
        action = lifecycle.request(self.runtime, action_type, params, agent=agent, reason=reason, review=review)
        return Ticket(self, action.id)

    def get(self, action_id: str) -> Action:
        if self.api is not None:
            return self.api.get(action_id)
        if self.restricted:
            inbox.check_recorded(self.runtime, action_id)
        return self.runtime.store.get(action_id)

    def ticket(self, action_id: str) -> Ticket:
        with contextlib.suppress(inbox.NotYetRecorded):  # queued: its ticket waits for a worker to record it
            self.get(action_id)
        return Ticket(self, action_id)

    def actions(self, status: Status | None = None, limit: int = 50) -> list[Action]:
        """The newest actions, all or those in one status."""
        return self.runtime.store.newest(status, limit)

    def decide(self, action_id: str, decision: lifecycle.Decision, *, by: str,
               params: dict[str, Any] | None = None, note: str | None = None,
               version: int | None = None) -> Action:
        """Approves (optionally with edited parameters) or rejects a waiting action."""
        return lifecycle.decide(self.runtime, action_id, decision, by=by, params=params, note=note,
                                version=version)

    def resume_agent(self, agent: str) -> bool:
        """Lifts the pause a burst put on an agent; its next actions are routed normally again."""
        return self.runtime.signals.resume(agent)

    def audit(self, since: datetime | None = None, action_id: str | None = None) -> Iterator[AuditEvent]:
        """The audit log (or one action's part of it), oldest first, read a page at a time as you iterate."""
        return read_events(self.runtime.connection, since=since, action_id=action_id)
