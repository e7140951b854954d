"""``FakeChatModel``: a scripted LangChain chat model for tests (like pydantic-ai's ``TestModel``/``FunctionModel``).

It never touches the network, so it works with ``FACTORYPILOT_ALLOW_MODEL_REQUESTS=false``. Give it a script
— a list of replies consumed one per call — or a function ``(messages, tools) -> AIMessage``. A script item
may be an ``AIMessage`` (with ``tool_calls`` or ``invalid_tool_calls``), a plain string, an exception instance
(raised, like a provider error) or :data:`FakeChatModel.HANG` (waits forever: the caller's timeout fires).
Bound options other than tools (``response_format`` in structured-output mode) are kept in ``options_seen``.

It supports ``bind_tools``, records every prompt it received (``received``) and the tools offered
(``tools_seen``), reports ``usage_metadata`` (the tokenizer-free estimate of ``estimate_tokens``) unless
``report_usage=False``, and — like a real OpenAI-compatible server — refuses a history with a tool call that
has no matching ``ToolMessage`` (``strict_history=True``).

Example::

    from langchain_core.messages import AIMessage
    from factorypilot.testing import FakeChatModel, tool_call

    model = FakeChatModel(script=[AIMessage("", tool_calls=[tool_call("propose_plan", diagnosis="ok")])])
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, ToolCall, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from factorypilot.agents.planners._llm_prompt import estimate_prompt_tokens, estimate_tokens

__all__ = ["FakeChatModel", "dangling_tool_calls", "estimate_tokens", "tool_call"]

Reply = AIMessage | str | BaseException | object
ReplyFn = Callable[[list[BaseMessage], list[dict[str, Any]]], AIMessage | str]


def tool_call(name: str, call_id: str | None = None, /, **args: Any) -> ToolCall:
    """A well-formed tool call for a scripted reply: ``tool_call("read_tags", tags=["feed_override"])``."""
    return ToolCall(name=name, args=args, id=call_id or f"call_{uuid.uuid4().hex[:10]}", type="tool_call")


def dangling_tool_calls(messages: Sequence[BaseMessage]) -> list[str]:
    """Ids of tool calls (valid or malformed) in ``messages`` that no later ``ToolMessage`` answers."""
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    out = []
    for m in messages:
        if isinstance(m, AIMessage):
            ids = [c.get("id") for c in m.tool_calls] + [c.get("id") for c in m.invalid_tool_calls]
            out += [str(i) for i in ids if i not in answered]
    return out


class FakeChatModel(BaseChatModel):
    """A chat model that replays a script (or calls a function) and records what it was sent."""

    HANG: ClassVar[object] = object()
    requires_network: ClassVar[bool] = False  # factorypilot checks this before allowing a model call

    script: list[Any] = Field(default_factory=list, description="replies, consumed one per call")
    function: Any = Field(default=None, description="(messages, tools) -> AIMessage | str, used after the script")
    model_name: str = "fake-chat"
    report_usage: bool = True
    strict_history: bool = True
    received: list[list[BaseMessage]] = Field(default_factory=list)
    tools_seen: list[list[dict[str, Any]]] = Field(default_factory=list)
    options_seen: list[dict[str, Any]] = Field(default_factory=list, description="other bound options per call, "
                                               "e.g. response_format in structured-output mode")
    usage_input_tokens: list[int] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "factorypilot-fake-chat"

    @property
    def calls(self) -> int:
        return len(self.received)

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: str | None = None,
                   **kwargs: Any) -> Runnable[LanguageModelInput, AIMessage]:
        formatted = [convert_to_openai_tool(t) for t in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def _next(self, messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Reply:
        self.received.append(list(messages))
        self.tools_seen.append(tools)
        if self.strict_history and (dangling := dangling_tool_calls(messages)):
            raise ValueError(f"invalid history: tool call(s) {dangling} have no ToolMessage")
        if self.script:
            item: Reply = self.script.pop(0)
            return item
        if self.function is not None:
            reply: AIMessage | str = self.function(list(messages), tools)
            return reply
        raise ValueError("FakeChatModel: the script is exhausted and no function was given")

    def _result(self, reply: Reply, messages: list[BaseMessage], tools: list[dict[str, Any]]) -> ChatResult:
        if isinstance(reply, BaseException):
            raise reply
        msg = AIMessage(content=reply) if isinstance(reply, str) else reply
        if not isinstance(msg, AIMessage):
            raise TypeError(f"FakeChatModel: cannot reply with {type(reply).__name__}")
        prompt = estimate_prompt_tokens(messages, tools)
        self.usage_input_tokens.append(prompt)
        if self.report_usage:
            out = estimate_prompt_tokens([msg])
            msg = msg.model_copy(update={"usage_metadata": {
                "input_tokens": prompt, "output_tokens": out, "total_tokens": prompt + out}})
        msg = msg.model_copy(update={"response_metadata": {**msg.response_metadata, "model_name": self.model_name}})
        return ChatResult(generations=[ChatGeneration(message=msg)])

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        tools = list(kwargs.get("tools") or [])
        reply = self._next(messages, tools)
        if reply is self.HANG:
            raise TimeoutError("FakeChatModel.HANG used synchronously")
        return self._result(reply, messages, tools)

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        tools = list(kwargs.get("tools") or [])
        self.options_seen.append({k: v for k, v in kwargs.items() if k not in ("tools", "tool_choice")})
        reply = self._next(messages, tools)
        if reply is self.HANG:
            await asyncio.Event().wait()  # never set: only the caller's timeout ends this
        return self._result(reply, messages, tools)
