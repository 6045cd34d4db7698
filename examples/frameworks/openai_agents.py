"""OpenAI Agents SDK: a refund tool with `needs_approval=True`, on the SDK's offline ScriptedModel.

    .venv/bin/python -m examples.frameworks.openai_agents
"""

from __future__ import annotations

import asyncio
from typing import Any

from agents import Agent, function_tool, set_tracing_disabled
from agents.testing import ModelCall, ModelStep, ScriptedModel, assistant_message, function_call

from examples.frameworks.common import report
from signoff.integrations.openai_agents import SignoffRunner


@function_tool(needs_approval=True)
def refund_order(order_id: str, amount_usd: float) -> str:
    """Refund an order."""
    return f"refunded {amount_usd:g} USD on {order_id}"


def _reply(call: ModelCall) -> Any:
    """Answers from the conversation, so the worker's fresh copy of the model carries on where it paused."""
    items = call.input if isinstance(call.input, list) else []
    done = [i for i in items if isinstance(i, dict) and i.get("type") == "function_call_output"]
    if done:
        return [assistant_message(f"Done: {done[-1].get('output')}")]
    return [function_call("refund_order", {"order_id": "ord_1042", "amount_usd": 40}, call_id="call_refund")]


set_tracing_disabled(True)  # offline
agent = Agent(name="support", model=ScriptedModel([ModelStep.respond(_reply) for _ in range(100)]),
              tools=[refund_order])
runner = SignoffRunner(agent, name="example-openai-support")

if __name__ == "__main__":
    report(asyncio.run(runner.run("The parcel for order 1042 never arrived; refund it.")), runner.wait)
