"""LangChain: `create_agent` with `HumanInTheLoopMiddleware`, on LangChain's offline fake chat model.
Two deletions in one model turn: one Slack batch message, each decided on its own.

    .venv/bin/python -m examples.frameworks.langchain
"""

from __future__ import annotations

from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool

from examples.frameworks.common import report
from signoff.integrations.langchain import SignoffGraph


class CleanupModel(GenericFakeChatModel):
    """LangChain's fake chat model, answering from the conversation so a worker's copy carries on."""

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        results = [str(m.content) for m in messages if isinstance(m, ToolMessage)]
        reply = AIMessage(content="Done: " + "; ".join(results)) if results else AIMessage(content="", tool_calls=[
            {"name": "delete_record", "args": {"record_id": "lead_17"}, "id": "call_1"},
            {"name": "delete_record", "args": {"record_id": "lead_18"}, "id": "call_2"}])
        return ChatResult(generations=[ChatGeneration(message=reply)])

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


@tool
def delete_record(record_id: str) -> str:
    """Delete a CRM record."""
    return f"deleted {record_id}"


agent = create_agent(CleanupModel(messages=iter(())), tools=[delete_record],
                     middleware=[HumanInTheLoopMiddleware(interrupt_on={"delete_record": True})])
gate = SignoffGraph(agent, name="example-langchain-cleanup")

if __name__ == "__main__":
    report(gate.run({"messages": [{"role": "user", "content": "Remove the duplicate leads"}]}), gate.wait)
