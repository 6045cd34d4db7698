"""An OpenAI Agents SDK agent on the SDK's own offline ScriptedModel, whose email tool needs approval.

The model answers from what it is given, not from a count of calls, so a fresh copy of it in a
worker process carries the conversation on where the paused run left it."""

from __future__ import annotations

from typing import Any

from agents import Agent, function_tool, set_tracing_disabled
from agents.testing import ModelCall, ModelStep, ScriptedModel, assistant_message, function_call

from signoff.integrations.openai_agents import SignoffRunner
from tests.agents.common import record_run


@function_tool(needs_approval=True)
def email_customer(to: str, subject: str) -> str:
    """Send an email to a customer."""
    record_run("email_customer", to=to, subject=subject)
    return f"sent to {to}"


@function_tool(needs_approval=True)
def add_note(text: str) -> str:
    """Add an internal note."""
    record_run("add_note", text=text)
    return "noted"


def _reply(call: ModelCall) -> Any:
    items = call.input if isinstance(call.input, list) else []
    outputs = [i for i in items if isinstance(i, dict) and i.get("type") == "function_call_output"]
    if outputs:
        return [assistant_message(f"Tool said: {outputs[-1].get('output')}")]
    prompt = str(call.input)
    if "note" in prompt:
        return [function_call("add_note", {"text": "called the customer"}, call_id="call_note")]
    return [function_call("email_customer", {"to": "sarah@client.com", "subject": "Invoice"}, call_id="call_mail")]


set_tracing_disabled(True)  # offline: no trace export
model = ScriptedModel([ModelStep.respond(_reply) for _ in range(1000)])
agent = Agent(name="mailer", model=model, tools=[email_customer, add_note])
runner = SignoffRunner(agent, name="openai-mailer",
                       categories={"email_customer": "external_communication", "add_note": "internal"})
