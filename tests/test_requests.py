"""An agent's request: validated from the function's signature; bad input queues nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import BaseModel

from signoff import InvalidParams, Signoff, SignoffError, Status, UnknownActionType
from signoff.runtime import ACTIONS_QUEUE
from tests.actions import send_email
from tests.conftest import ROOT


def _nothing_queued(rt) -> None:  # type: ignore[no-untyped-def]
    assert rt.actions_queue.count == 0
    assert rt.store.newest() == []


def test_a_valid_request_is_recorded_and_queued_for_routing(rt) -> None:
    ticket = send_email.request(to="Sarah@Acme.com", subject="Q3 budget", body="Numbers attached",
                                agent="finance-bot", reason="Sarah asked for the Q3 numbers")
    action = rt.store.get(ticket.id)
    assert ticket.status == Status.RECEIVED
    assert action.params == {"to": "sarah@acme.com", "subject": "Q3 budget", "body": "Numbers attached"}
    assert (action.agent, action.reason, action.category) == ("finance-bot", "Sarah asked for the Q3 numbers",
                                                              "external_communication")
    assert rt.connection.llen(f"rq:queue:{ACTIONS_QUEUE}") == 1


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"to": "sarah@acme.com", "subject": "Hi"}, "body: is required"),
        ({"to": "not-an-address", "subject": "Hi", "body": "x"}, "to: is not an email address"),
        ({"to": "sarah@acme.com", "subject": ["a"], "body": "x"}, "subject: Input should be a valid string"),
        ({"to": "sarah@acme.com", "subject": "Hi", "body": "x", "cc": "boss@acme.com"},
         "cc: is not a parameter of this action"),
    ],
)
def test_wrong_parameters_are_a_clear_error_and_nothing_is_queued(rt, params, problem) -> None:
    with pytest.raises(InvalidParams) as error:
        send_email.request(agent="finance-bot", reason="why", **params)
    assert problem in str(error.value)
    assert str(error.value).startswith("invalid parameters for 'send_email'")
    _nothing_queued(rt)


def test_agent_and_reason_are_required(rt) -> None:
    with pytest.raises(InvalidParams, match="reason: is required"):
        send_email.request(to="a@b.co", subject="s", body="b", agent="bot", reason=" ")
    _nothing_queued(rt)


def test_an_unknown_action_type_names_the_known_ones(rt) -> None:
    send_email.request(to="a@b.co", subject="s", body="b", agent="bot", reason="r")  # registers send_email
    with pytest.raises(UnknownActionType, match=r"unknown action type .send_mail. \(known: .*\bsend_email\b"):
        Signoff(connection=rt.connection).submit("send_mail", {}, agent="bot", reason="r")


def test_calling_an_action_directly_does_not_bypass_signoff() -> None:
    with pytest.raises(TypeError, match=r"send_email needs sign-off: call send_email.request"):
        send_email(to="a@b.co", subject="s", body="b")


def test_reserved_and_unimportable_functions_are_refused_at_declaration() -> None:
    signoff = Signoff()

    def notify(agent: str) -> None: ...

    with pytest.raises(SignoffError, match=r"parameter names \['agent'\] are reserved"):
        signoff.action("notify")(notify)


def test_submit_by_name_validates_against_the_declared_schema(rt) -> None:
    class Tweet(BaseModel):
        text: str
        thread: bool = False

    signoff = Signoff(connection=rt.connection)
    signoff.declare("post_tweet", params=Tweet, category="external_communication")
    ticket = signoff.submit("post_tweet", {"text": "We're hiring", "thread": "yes"}, agent="social", reason="r")
    assert rt.store.get(ticket.id).params == {"text": "We're hiring", "thread": True}
    with pytest.raises(InvalidParams, match="text: is required"):
        signoff.submit("post_tweet", {}, agent="social", reason="r")


def test_the_sample_refund_refuses_what_no_refund_can_be() -> None:
    # In a process of its own: the examples declare types the tests' actions declare too.
    check = ("from examples.actions import issue_refund\n"
             "from signoff import InvalidParams\n"
             "for amount in (-50, 0, 50_000):\n"
             "    try:\n"
             "        issue_refund.action_type.check_params({'customer_id': 'c', 'amount': amount})\n"
             "    except InvalidParams as refused:\n"
             "        print(refused)\n"
             "print(issue_refund.action_type.check_params({'customer_id': 'c', 'amount': 25})['amount'])\n")
    done = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=60)
    lines = done.stdout.splitlines()
    assert done.returncode == 0 and len(lines) == 4 and lines[-1] == "25.0"
    assert "amount: Input should be greater than 0" in lines[0] and "greater than 0" in lines[1]
    assert "less than or equal to 10000" in lines[2]


def test_an_agents_output_is_not_preceded_by_signoffs_audit_lines(rt) -> None:
    script = ("from tests.actions import update_crm\n"
              "ticket = update_crm.request(record_id='r1', field='stage', value='won', agent='crm-bot', reason='r')\n"
              "print('requested', ticket.id)\n")
    env = {k: v for k, v in os.environ.items() if k != "SIGNOFF_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("requested ")
    assert done.stderr == ""  # the audit line is the workers' to log; SIGNOFF_LOG_LEVEL=info brings it back here
    loud = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**env, "SIGNOFF_LOG_LEVEL": "info"},
                          capture_output=True, text=True, timeout=60)
    assert '"audit"' in loud.stderr or "audit" in loud.stderr
