"""A Pydantic AI agent on Pydantic AI's own offline FunctionModel, whose refund tool requires approval.

The model answers from the messages it is given, so a fresh copy in a worker process carries on
where the paused run left off."""

from __future__ import annotations

from pydantic_ai import Agent, DeferredToolRequests
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart, ToolReturnPart, UserPromptPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from signoff.integrations.pydantic_ai import SignoffAgent
from tests.agents.common import record_run


def _reply(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    parts = messages[-1].parts
    returned = [p for p in parts if isinstance(p, ToolReturnPart)]
    if returned:
        told = " ".join(str(p.content) for p in parts if isinstance(p, UserPromptPart))
        return ModelResponse(parts=[TextPart(f"Tool said: {returned[-1].content}" + (f" ({told})" if told else ""))])
    return ModelResponse(parts=[ToolCallPart("refund", {"customer": "cus_1", "amount": 30.0}, tool_call_id="call_r")])


agent = Agent(FunctionModel(_reply), output_type=[str, DeferredToolRequests])


@agent.tool_plain(requires_approval=True)
def refund(customer: str, amount: float) -> str:
    """Refund a customer."""
    record_run("refund", customer=customer, amount=amount)
    return f"refunded {amount:g} to {customer}"


gate = SignoffAgent(agent, name="pydantic-refunds", categories={"refund": "financial"})
