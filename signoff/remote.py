"""The SDK over the HTTP API, for agents that hold an agent token and no Redis credentials.

`Signoff(api_url=..., token=...)` (or SIGNOFF_API_URL and SIGNOFF_AGENT_TOKEN) gives the same
`request()`, `submit()` and `ticket.wait()` as the Redis-backed SDK; deciding is not among them.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from typing import Any

from signoff.errors import ActionNotFound, InvalidParams, SignoffError, UnknownActionType
from signoff.models import Action

LONG_POLL = 55.0  # each wait request; under the server's 60-second cap


class ApiError(SignoffError):
    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status, self.problem = status, problem
        super().__init__(f"{problem.get('title', 'error')} ({status}): {problem.get('detail') or ''}".rstrip(": "))


class ApiClient:
    def __init__(self, api_url: str, token: str, timeout: float = 10.0) -> None:
        self.base = api_url.rstrip("/")
        if not self.base.endswith("/api/v1"):
            self.base += "/api/v1"
        self.token, self.timeout = token, timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, timeout: float | None = None,
              headers: dict[str, str] | None = None) -> Any:
        request = urllib.request.Request(
            self.base + path, method=method, data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            problem = json.loads(error.read() or b"{}")
            if error.code == 404:
                raise ActionNotFound(path.split("/")[2] if path.startswith("/actions/") else path) from None
            if error.code == 422 and problem.get("title") == "Unknown action type":
                raise UnknownActionType(body.get("type", "?") if body else "?", []) from None
            if error.code == 422 and problem.get("title") == "Invalid parameters":
                fields = {k.removeprefix("params."): v for k, v in (problem.get("errors") or {}).items()}
                raise InvalidParams(body.get("type", "?") if body else "?", [f"{k}: {v}" for k, v in fields.items()],
                                    fields) from None
            raise ApiError(error.code, problem) from None
        except urllib.error.URLError as error:
            raise SignoffError(f"cannot reach the Signoff API at {self.base}: {error.reason}") from None

    @staticmethod
    def _action(data: dict[str, Any]) -> Action:
        fields = {k: v for k, v in data.items() if k in Action.model_fields}
        return Action.model_validate(fields)

    def submit(self, action_type: str, params: dict[str, Any], reason: str, review: bool = False,
               idempotency_key: str | None = None) -> Action:
        body = {"type": action_type, "params": params, "reason": reason, "review": review}
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return self._action(self._call("POST", "/actions", body, headers=headers))

    def get(self, action_id: str) -> Action:
        return self._action(self._call("GET", f"/actions/{action_id}"))

    def wait(self, action_id: str, timeout: float, until: Iterable[str] = ()) -> Action:
        """Long-polls until the action is settled (or in one of `until`) or `timeout` passes; one request
        per LONG_POLL seconds."""
        deadline = time.monotonic() + timeout
        also = "".join(f"&until={status}" for status in until)
        while True:
            remaining = max(0.0, deadline - time.monotonic())
            step = min(remaining, LONG_POLL)
            data = self._call("GET", f"/actions/{action_id}/wait?timeout={step:.3f}{also}",
                              timeout=step + self.timeout)
            if data["settled"] or data["status"] in until or remaining <= step:
                return self._action(data)

    def cancel(self, action_id: str) -> Action:
        return self._action(self._call("POST", f"/actions/{action_id}/cancel", {}))

    def rerequest(self, action_id: str) -> Action:
        return self._action(self._call("POST", f"/actions/{action_id}/rerequest"))

    def report(self, action_id: str, status: str, result: Any = None, error: str | None = None) -> Action:
        body = {"status": status, "result": result, "error": error}
        return self._action(self._call("POST", f"/actions/{action_id}/result", body))

    def declare(self, name: str, params_schema: dict[str, Any], category: str | None = None) -> dict[str, Any]:
        return dict(self._call("POST", "/types", {"name": name, "params_schema": params_schema, "category": category}))
