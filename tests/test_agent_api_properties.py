"""Whatever an agent sends, the API answers with a problem, never a server error (schemathesis)."""

from __future__ import annotations

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings

from signoff import tokens
from tests.actions import send_email


def test_no_generated_request_makes_a_server_error(rt, sandbox, bot, slack_worker) -> None:
    send_email.request(to="a@client.com", subject="s", body="b", agent="setup", reason="registers send_email")
    token, _ = tokens.create(rt.connection, "fuzz-bot", can_declare=True)
    base = f"http://127.0.0.1:{sandbox.bot_port}"
    schema = schemathesis.openapi.from_dict(httpx.get(f"{base}/api/v1/openapi.json", timeout=10).json())
    schema.config.update(base_url=base, headers={"Authorization": f"Bearer {token}"})
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 8  # every route of the API, the rerequest among them
    server_errors: list[str] = []
    seen: set[int] = set()
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def call(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(timeout=70)
            seen.add(response.status_code)
            if response.status_code >= 500:
                server_errors.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text}")

        call()
    assert server_errors == []
    assert {200, 404, 422} <= seen and 401 not in seen  # authenticated, and past validation into the routes
