"""Agents in any language: the HTTP API with agent tokens, against the real web process.

An agent token can ask, read, wait on and cancel its own agent's actions; it can never decide.
"""

from __future__ import annotations

import concurrent.futures
import json

import httpx
import pytest

from signoff import Signoff, Status, tokens
from tests.actions import send_email
from tests.helpers import wait_status
from tests.slack_helpers import approval_message, opened_view

ALICE, BOB = "U0ALICE", "U0BOB"
EMAIL = {"to": "sarah@client.com", "subject": "Q3", "body": "Numbers attached"}


@pytest.fixture
def api(rt, sandbox, bot, slack_worker):  # type: ignore[no-untyped-def]
    send_email.request(agent="setup", reason="registers send_email", **EMAIL)  # the type is in the catalogue
    token, _ = tokens.create(rt.connection, "finance-bot", can_declare=True)
    with httpx.Client(base_url=f"http://127.0.0.1:{sandbox.bot_port}/api/v1",
                      headers={"Authorization": f"Bearer {token}"}, timeout=70) as client:
        client.token = token  # type: ignore[attr-defined]
        yield client


def _submit(api: httpx.Client, **extra: object) -> dict:  # type: ignore[type-arg]
    reply = api.post("/actions", json={"type": "send_email", "params": EMAIL, "reason": "Sarah asked", **extra})
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def test_submit_approve_with_an_edit_in_slack_and_the_long_poll_returns_the_run(rt, api, sandbox) -> None:
    action = _submit(api)
    assert (action["status"], action["agent"]) == ("received", "finance-bot")  # the name comes from the token
    assert action["links"]["wait"] == f"/api/v1/actions/{action['id']}/wait"
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(api.get, f"/actions/{action['id']}/wait", params={"timeout": 60})
        message = approval_message(sandbox, action["id"])
        sandbox.interactions.click(message, "signoff_edit", ALICE)
        modal = opened_view(sandbox, "signoff_edit_modal")
        sandbox.interactions.submit(modal.id, ALICE, {"p:to": "sarah@client.com", "p:subject": "Q3 (final)",
                                                      "p:body": "Numbers attached"})
        done = waiting.result(timeout=60).json()
    assert (done["status"], done["decided_by"], done["settled"]) == ("succeeded", f"slack:{ALICE}", True)
    assert done["params"]["subject"] == "Q3 (final)" and done["result"] == {"delivered_to": "sarah@client.com"}


def test_a_rejection_note_comes_back_to_the_agent(rt, api, sandbox) -> None:
    action = _submit(api)
    message = approval_message(sandbox, action["id"])
    sandbox.interactions.click(message, "signoff_reject", BOB)
    try:
        modal = opened_view(sandbox, "signoff_reject_modal")
    except TimeoutError:  # the last Slack calls say why no modal opened (an expired trigger, a refusal)
        raise AssertionError([(c.method, c.reply) for c in sandbox.calls][-6:]) from None
    sandbox.interactions.submit(modal.id, BOB, {"reason": "Not this week"})
    done = api.get(f"/actions/{action['id']}/wait", params={"timeout": 30}).json()
    assert (done["status"], done["note"]) == ("rejected", "Not this week")


def test_a_token_has_no_way_to_decide(rt, api) -> None:
    action = _submit(api)
    wait_status(rt, action["id"], Status.PENDING_APPROVAL)
    for verb in ("approve", "reject", "decide", "edit", "flag"):
        assert api.post(f"/actions/{action['id']}/{verb}", json={}).status_code in (404, 405)
    paths = api.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if any(w in p for w in ("approve", "reject", "decide", "flag", "polic"))]
    assert rt.store.get(action["id"]).status == Status.PENDING_APPROVAL


def test_another_agents_action_is_not_found(rt, api, sandbox) -> None:
    action = _submit(api)
    other, _ = tokens.create(rt.connection, "support-bot")
    headers = {"Authorization": f"Bearer {other}"}
    for method, path in (("GET", ""), ("GET", "/wait?timeout=0"), ("POST", "/cancel")):
        reply = api.request(method, f"/actions/{action['id']}{path}", headers=headers)
        assert reply.status_code == 404 and reply.headers["content-type"] == "application/problem+json"
    assert api.get(f"/actions/{action['id']}").status_code == 200


def test_twenty_concurrent_retries_with_one_idempotency_key_make_one_action(rt, api) -> None:
    body = {"type": "send_email", "params": EMAIL, "reason": "Sarah asked"}
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        replies = list(pool.map(lambda _: api.post("/actions", json=body, headers={"Idempotency-Key": "k-1"}),
                                range(20)))
    created = {r.json()["id"] for r in replies if r.status_code == 201}
    assert len(created) == 1 and all(r.status_code in (201, 409) for r in replies)
    assert len([a for a in rt.store.newest() if a.agent == "finance-bot"]) == 1
    later = api.post("/actions", json=body, headers={"Idempotency-Key": "k-1"})
    assert (later.status_code, later.json()["id"]) == (201, created.pop())
    changed = api.post("/actions", json={**body, "reason": "other"}, headers={"Idempotency-Key": "k-1"})
    assert changed.status_code == 422 and changed.json()["title"] == "Idempotency-Key reused"


def test_invalid_parameters_are_a_problem_with_one_message_per_field(rt, api) -> None:
    reply = api.post("/actions", json={"type": "send_email", "reason": "r",
                                       "params": {"to": "not-an-address", "subject": ["x"], "cc": "a@b.co"}})
    assert reply.status_code == 422 and reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["errors"] == {"params.to": "is not an email address",
                                      "params.subject": "Input should be a valid string",
                                      "params.body": "is required", "params.cc": "is not a parameter of this action"}
    missing = api.post("/actions", json={"params": {}})
    assert missing.status_code == 422 and set(missing.json()["errors"]) == {"type", "reason"}
    assert rt.store.newest() == [a for a in rt.store.newest() if a.agent == "setup"]  # nothing queued


def test_bodies_over_the_limit_are_refused_with_413(api) -> None:
    huge = {"type": "send_email", "reason": "r", "params": {**EMAIL, "body": "x" * 1_100_000}}
    assert api.post("/actions", json=huge).status_code == 413
    streamed = api.post("/actions", content=iter([b'{"type": "send_email", "params": {"body": "', b"x" * 1_100_000,
                                                  b'"}}']), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413


def test_wrong_revoked_or_expired_tokens_get_401_and_the_log_never_holds_them(rt, api, bot) -> None:
    revoked, record = tokens.create(rt.connection, "finance-bot")
    tokens.revoke(rt.connection, record.id)
    expired, _ = tokens.create(rt.connection, "finance-bot", expires_in=-1)
    for token in ("sot_wrong", revoked, expired, "x"):
        reply = api.get("/types", headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 401 and reply.headers["www-authenticate"].startswith("Bearer")
    assert api.get("/types").status_code == 200
    bot.wait_for_log(lambda lines: sum('"api_unauthorized"' in line for line in lines) >= 4)
    assert not any(t in line for line in bot.log for t in (revoked, expired, api.token))  # type: ignore[attr-defined]


def test_a_malformed_schema_is_refused_with_422_and_declares_nothing(api) -> None:
    # Shapes a fuzzer found making a 500: properties that are not an object, a field that is not one,
    # an empty enum, a $ref to nowhere.
    for schema in ({"type": "object", "properties": []}, {"type": "object", "properties": {"a": None}},
                   {"type": "object", "properties": {"a": {"enum": []}}},
                   {"type": "object", "properties": {"a": {"$ref": "#/$defs/nowhere"}}},
                   {"type": "object", "required": 3}):
        reply = api.post("/types", json={"name": "malformed", "params_schema": schema})
        assert reply.status_code == 422, (schema, reply.text)
        assert reply.json()["title"] == "Invalid schema" and "\n" not in reply.json()["detail"]
    assert "malformed" not in [t["name"] for t in api.get("/types").json()]


def test_a_declared_type_the_agent_performs_itself_and_reports(rt, api, sandbox) -> None:
    schema = {"type": "object", "properties": {"text": {"type": "string", "maxLength": 280}}, "required": ["text"]}
    assert api.post("/types", json={"name": "post_tweet", "category": "external_communication",
                                     "params_schema": schema}).status_code == 201
    reply = api.post("/actions", json={"type": "post_tweet", "params": {"text": "We're hiring"}, "reason": "launch"})
    action_id = reply.json()["id"]
    sandbox.interactions.click(approval_message(sandbox, action_id), "signoff_approve", ALICE)
    approved = api.get(f"/actions/{action_id}/wait", params={"timeout": 30}).json()
    assert approved["status"] == "approved" and approved["settled"]
    done = api.post(f"/actions/{action_id}/result", json={"status": "succeeded", "result": {"tweet": "123"}})
    assert done.json()["status"] == "succeeded"
    steps = [e.step for e in Signoff(connection=rt.connection).audit(action_id=action_id)]
    assert steps[-1] == "succeeded"


def test_the_python_sdk_pointed_at_the_api(rt, api, sandbox) -> None:
    signoff = Signoff(api_url=str(api.base_url).removesuffix("/api/v1/"), token=api.token)  # type: ignore[attr-defined]
    ticket = signoff.submit("send_email", EMAIL, agent="ignored: the token names the agent", reason="Sarah asked")
    sandbox.interactions.click(approval_message(sandbox, ticket.id), "signoff_approve", ALICE)
    outcome = ticket.wait(timeout=30)
    assert (outcome.status, outcome.decided_by) == (Status.SUCCEEDED, f"slack:{ALICE}")
    with pytest.raises(Exception, match="no Redis access"):
        signoff.decide(ticket.id, "approve", by="slack:U0ALICE")


def test_the_openapi_document_is_generated_and_valid(api) -> None:
    from openapi_spec_validator import validate

    document = api.get("/openapi.json").json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert {"/api/v1/actions", "/api/v1/actions/{action_id}/wait", "/api/v1/types"} <= set(document["paths"])
    assert "/slack/events" not in document["paths"]
    json.dumps(document)
