"""Pydantic AI: a refund tool with `requires_approval=True`, on Pydantic AI's offline FunctionModel.

    .venv/bin/python -m examples.frameworks.pydantic_ai
"""

from __future__ import annotations

import asyncio

from pydantic_ai import Agent, DeferredToolRequests
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from examples.frameworks.common import report
from signoff.integrations.pydantic_ai import SignoffAgent


def _reply(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    done = [p for p in messages[-1].parts if isinstance(p, ToolReturnPart)]
    if done:
        return ModelResponse(parts=[TextPart(f"Done: {done[-1].content}")])
    return ModelResponse(parts=[ToolCallPart("refund_order", {"order_id": "ord_2077", "amount_usd": 15.0},
                                             tool_call_id="call_refund")])


agent = Agent(FunctionModel(_reply), output_type=[str, DeferredToolRequests])


@agent.tool_plain(requires_approval=True)
def refund_order(order_id: str, amount_usd: float) -> str:
    """Refund an order."""
    return f"refunded {amount_usd:g} USD on {order_id}"


gate = SignoffAgent(agent, name="example-pydantic-support")

if __name__ == "__main__":
    report(asyncio.run(gate.run("Order 2077 arrived broken; refund it.")), gate.wait)
