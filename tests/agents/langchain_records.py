"""A LangChain agent (create_agent + HumanInTheLoopMiddleware) on LangChain's own offline fake chat
model, taught to answer from the messages it is given so a worker's fresh copy carries the run on."""

from __future__ import annotations

from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool

from signoff.integrations.langchain import SignoffGraph
from tests.agents.common import record_run


class RecordsModel(GenericFakeChatModel):
    """LangChain's fake chat model, answering from the conversation instead of a fixed list."""

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        results = [m for m in messages if isinstance(m, ToolMessage)]
        if results:
            said = " | ".join(str(m.content) for m in results)
            reply = AIMessage(content=f"Tools said: {said}")
        elif "two" in str(messages[-1].content):
            reply = AIMessage(content="", tool_calls=[
                {"name": "delete_record", "args": {"record_id": "r1"}, "id": "call_1"},
                {"name": "delete_record", "args": {"record_id": "r2"}, "id": "call_2"}])
        else:
            reply = AIMessage(content="", tool_calls=[
                {"name": "delete_record", "args": {"record_id": "r1"}, "id": "call_1"}])
        return ChatResult(generations=[ChatGeneration(message=reply)])

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


@tool
def delete_record(record_id: str) -> str:
    """Delete a CRM record."""
    record_run("delete_record", record_id=record_id)
    return f"deleted {record_id}"


agent = create_agent(RecordsModel(messages=iter(())), tools=[delete_record],
                     middleware=[HumanInTheLoopMiddleware(interrupt_on={"delete_record": True})])
# No category given: the middleware's request for a person stands, whatever the policy's rules say.
gate = SignoffGraph(agent, name="langchain-records")
