"""``LLMPlanner``: any LangChain chat model with tool calling, behind the same small planner interface.

The model sees a *selected* context (``_llm_prompt``) and a few tools (``_llm_tools``): read the pilot's
roles, search the company's documents, propose writes / method calls / work-order notes, and finish with
``propose_plan`` (a pydantic schema; it may also acknowledge the plant alarm that started the run). It only
proposes; the graph's guard decides, and its refusals come back on the next planning attempt as the
``ToolMessage`` answering ``propose_plan`` (or, after a restart, in the context).

Failures — timeout, provider error, malformed tool call, unknown tool, invalid arguments, no tool call —
are answered with an error ``ToolMessage`` for *every* tool call of that reply (so the history never holds a
tool call without its answer) and retried up to ``max_retries`` times; then the ``fallback`` planner (usually
the ``PlaybookPlanner``) plans, or, without one, the plan escalates to a person. It never raises for a model
failure. Prompt tokens per model call come from the model's ``usage_metadata`` when present, else from
:func:`~factorypilot.agents.planners._llm_prompt.estimate_tokens`; ``Plan.prompt_tokens`` is their sum for
the planning step.

Example::

    from factorypilot.agents.planners.llm import LLMPlanner, make_chat_model
    planner = LLMPlanner(make_chat_model({"provider": "ollama", "model": "qwen2.5:7b-instruct"}),
                         fallback=PlaybookPlanner(config.playbooks))
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from factorypilot.agents.planners._llm_guidance import procedure_lines, window_reminder
from factorypilot.agents.planners._llm_models import (
    ChatModelConfig,
    _config,
    ensure_model_requests_allowed,
    make_chat_model,
    model_name_of,
)
from factorypilot.agents.planners._llm_parse import as_tool_call, extract_json
from factorypilot.agents.planners._llm_prompt import estimate_prompt_tokens, render_context, system_prompt
from factorypilot.agents.planners._llm_tools import MAX_COMMENT, TOOLS, ProposePlan, ToolCallError, ToolSession
from factorypilot.agents.planners._untrusted import quote_untrusted
from factorypilot.agents.planners.base import Plan, PlanContext, Planner, alarm_events
from factorypilot.agents.planners.playbook import Playbook, PlaybookPlanner
from factorypilot.errors import ConfigError, FactoryPilotError
from factorypilot.vocabulary import Event

if TYPE_CHECKING:
    from factorypilot.agents.config import AgentConfig
    from factorypilot.agents.runtime_deps import Retriever
    from factorypilot.connectors.base import BaseConnector

__all__ = ["ChatModelConfig", "LLMPlanner", "make_chat_model"]

log = logging.getLogger("factorypilot.agents.llm")

_KEEP_RUNS = 32  # conversations kept in memory so guard refusals can answer the pending propose_plan call


class LLMPlanner:
    """Plan with a chat model; bounded retries; fall back to ``fallback`` or escalate.

    ``fallback``: usually ``PlaybookPlanner(config.playbooks)``; ``None`` escalates to a person instead.
    ``connector``: live reads for ``read_tags`` (else the run's observation). ``retriever``: offers
    ``search_knowledge``. ``tools``: the built-in tools to offer (default all; ``propose_plan`` always).
    ``procedures``: playbooks shown as the plant's procedure for matching events (default: the fallback's).
    """

    name = "llm"

    def __init__(self, model: BaseChatModel, *, fallback: Planner | None = None, max_retries: int = 2,
                 max_steps: int = 6, timeout_s: float = 60.0, connector: BaseConnector[Any] | None = None,
                 retriever: Retriever | None = None, tools: Collection[str] | None = None,
                 mode: Literal["tools", "json"] = "tools", procedures: list[Playbook] | None = None) -> None:
        ensure_model_requests_allowed(model, what=f"the chat model {model_name_of(model)!r}")
        if mode not in ("tools", "json"):
            raise ConfigError(f"unknown planner mode {mode!r}", where="planner.mode",
                              hint="tools (the model calls tools) or json (one JSON plan, schema-constrained)")
        self.model = model
        self.model_name = model_name_of(model)
        self.fallback = fallback
        self.max_retries = max_retries
        self.max_steps = max_steps
        self.timeout_s = timeout_s
        self.connector = connector
        self.retriever = retriever
        self.mode = mode
        # the plant's playbooks, shown to the model as the standard procedure for matching events
        self.procedures = procedures if procedures is not None else (
            fallback.playbooks if isinstance(fallback, PlaybookPlanner) else [])
        unknown = set(tools or ()) - set(TOOLS)
        if unknown:
            raise ConfigError(f"unknown planner tools: {sorted(unknown)}", where="LLMPlanner(tools=...)",
                              hint=f"choose from {list(TOOLS)} (propose_plan is always offered)")
        self.tools = frozenset(tools) if tools is not None else None
        self._pending: OrderedDict[str, tuple[list[BaseMessage], str]] = OrderedDict()

    @classmethod
    def from_config(cls, cfg: ChatModelConfig | Mapping[str, Any] | None,
                    agent: AgentConfig | list[Playbook] | None = None, **kw: Any) -> LLMPlanner:
        """The one way to build the planner from settings (pilot runtime, evaluation, benchmarks).

        ``cfg``: the spec's ``planner:`` block (missing keys from ``FACTORYPILOT_LLM_*``), or ``None`` for the
        settings alone. Timeout, retries, ``max_tokens`` and mode come from it; the pilot's playbooks (``agent``:
        an ``AgentConfig`` or the playbook list) are the fallback unless ``fallback=`` is given."""
        c = _config(cfg if cfg is not None else {})
        playbooks = agent.playbooks if agent is not None and not isinstance(agent, list) else (agent or [])
        kw.setdefault("fallback", PlaybookPlanner(playbooks))
        kw.setdefault("procedures", list(playbooks))
        kw.setdefault("max_retries", c.max_retries)
        kw.setdefault("timeout_s", c.timeout_s)
        kw.setdefault("mode", c.mode)
        return cls(make_chat_model(c), **kw)

    def knowledge_queries(self, events: list[Event], lang: str) -> list[str]:
        queries = self.fallback.knowledge_queries(events, lang) if self.fallback is not None else []
        return queries or [e.message for e in events if e.message]

    # -- planning ------------------------------------------------------------------------------------
    async def plan(self, ctx: PlanContext) -> Plan:
        ensure_model_requests_allowed(self.model, what=f"the chat model {self.model_name!r}")
        session = ToolSession(ctx, requested_by=f"llm:{self.model_name}",
                              reader=self.connector.read if self.connector is not None else None,
                              search=self.retriever.search if self.retriever is not None else None,
                              enabled=self.tools if self.mode == "tools" else frozenset({"propose_plan"}))
        tools = session.tool_schemas() if self.mode == "tools" else []
        bound = self.model.bind_tools(tools) if self.mode == "tools" else self.model.bind(
            response_format=plan_response_format(ctx))
        messages = self._start(ctx)
        tokens: list[int] = []
        failures = 0
        last_error = ""
        while failures <= self.max_retries and len(tokens) < self.max_steps:
            estimate = estimate_prompt_tokens(messages, tools)
            try:
                reply = await asyncio.wait_for(bound.ainvoke(messages), timeout=self.timeout_s)
            except TimeoutError:
                tokens.append(estimate)
                failures, last_error = failures + 1, f"model timed out after {self.timeout_s:g}s"
                log.warning("planner %s: %s (run %s)", self.model_name, last_error, ctx.run_id)
                continue
            except FactoryPilotError:
                raise
            except Exception as exc:
                tokens.append(estimate)
                failures, last_error = failures + 1, f"model error {type(exc).__name__}: {str(exc)[:200]}"
                log.warning("planner %s: %s (run %s)", self.model_name, last_error, ctx.run_id)
                continue
            ai = reply if isinstance(reply, AIMessage) else AIMessage(content=str(reply))
            usage = ai.usage_metadata
            tokens.append(usage["input_tokens"] if usage and usage.get("input_tokens") else estimate)
            if self.mode == "json":
                messages.append(AIMessage(content=ai.content))
                error, final_id = await self._answer_json(ai, session, messages)
            else:
                if not (ai.tool_calls or ai.invalid_tool_calls):
                    ai = _json_as_call(ai, session.tool_names())  # fenced JSON instead of a tool call
                ai = _with_ids(ai)
                messages.append(ai)
                error, final_id = await self._answer(ai, session, messages)
            if final_id is not None and session.plan is not None:
                return self._done(ctx, session, messages, final_id, tokens, failures)
            if error:
                failures, last_error = failures + 1, error
                log.info("planner %s: retry after %s (run %s)", self.model_name, error, ctx.run_id)
        reason = last_error or f"no plan after {len(tokens)} model calls"
        return await self._give_up(ctx, tokens, reason)

    def _start(self, ctx: PlanContext) -> list[BaseMessage]:
        pending = self._pending.pop(ctx.run_id, None)
        if pending is not None and ctx.refusals:
            history, call_id = pending
            if not call_id:  # structured-output mode: no tool call to answer
                return [*history, HumanMessage(
                    "REFUSED by the safety guard (the policy is enforced outside you): "
                    + "; ".join(quote_untrusted(r, 240) for r in ctx.refusals[:10])
                    + ". " + window_reminder(ctx) + " Reply with a new JSON plan within the policy, or escalate.")]
            text = ("REFUSED by the safety guard (the policy is enforced outside you): "
                    + "; ".join(quote_untrusted(r, 240) for r in ctx.refusals[:10])
                    + ". " + window_reminder(ctx) + " Propose a plan within the policy, or escalate.")
            return [*history, ToolMessage(content=text, tool_call_id=call_id, status="error")]
        return [SystemMessage(system_prompt(self.mode)),
                HumanMessage(render_context(ctx, procedures=procedure_lines(self.procedures, ctx)))]

    async def _answer_json(self, ai: AIMessage, session: ToolSession,
                           messages: list[BaseMessage]) -> tuple[str, str | None]:
        """Structured-output mode: the reply's JSON object is the plan. Errors go back as a user message."""
        call = _json_as_call(ai, ["propose_plan"]).tool_calls
        if not call:
            error = "the reply holds no JSON plan object"
        else:
            try:
                await session.call("propose_plan", dict(call[0].get("args") or {}))
                return "", ""
            except ToolCallError as exc:
                error = str(exc)
        messages.append(HumanMessage(f"error: {error}. Reply with the whole JSON plan again, corrected."))
        return error, None

    async def _answer(self, ai: AIMessage, session: ToolSession,
                      messages: list[BaseMessage]) -> tuple[str, str | None]:
        """Append one ToolMessage per tool call of ``ai``. Returns (first error, id of an accepted propose_plan)."""
        errors: list[str] = []
        final_id: str | None = None
        for bad in ai.invalid_tool_calls:
            err = f"malformed tool call {bad.get('name')!r}: {bad.get('error') or 'arguments are not valid JSON'}"
            errors.append(err)
            messages.append(ToolMessage(content=err + ". Call the tool again with valid JSON arguments.",
                                        tool_call_id=str(bad.get("id")), status="error"))
        for call in ai.tool_calls:
            call_id = str(call.get("id"))
            if final_id is not None:
                messages.append(ToolMessage(content="ignored: the plan was already proposed", tool_call_id=call_id))
                continue
            try:
                text = await session.call(call["name"], dict(call.get("args") or {}))
            except ToolCallError as exc:
                errors.append(str(exc))
                fix = " Send the whole JSON plan again, corrected." if self.mode == "json" else ""
                messages.append(ToolMessage(content=f"error: {exc}.{fix}", tool_call_id=call_id, status="error"))
                continue
            if call["name"] == "propose_plan":
                final_id = call_id  # answered later: by the guard's verdict, or below when the plan is final
                continue
            messages.append(ToolMessage(content=text, tool_call_id=call_id))
        if not ai.tool_calls and not ai.invalid_tool_calls:
            errors.append("the reply called no tool")
            messages.append(HumanMessage("Reply only with tool calls; finish with propose_plan."))
        if final_id is not None and errors:  # a plan next to a failed call is not what the model meant
            session.plan = None
            messages.append(ToolMessage(content="plan not accepted: fix the errors of the other calls in this reply, "
                                        "then call propose_plan again (successful proposals are kept)",
                                        tool_call_id=final_id, status="error"))
            final_id = None
        return (errors[0] if errors else ""), final_id

    def _done(self, ctx: PlanContext, session: ToolSession, messages: list[BaseMessage], final_id: str,
              tokens: list[int], failures: int) -> Plan:
        assert session.plan is not None
        # keep the conversation (the propose_plan call still unanswered: the guard answers it on a re-plan)
        self._pending[ctx.run_id] = (messages, final_id)
        while len(self._pending) > _KEEP_RUNS:
            self._pending.popitem(last=False)
        cites = ", ".join(session.plan.citations)
        note = f"{len(tokens)} model call(s), prompt tokens per call {tokens}" + (f"; retries {failures}"
                                                                                  if failures else "")
        actions = list({a.fingerprint(): a for a in session.proposals}.values())  # the same action once
        escalate = session.plan.escalate
        if not actions and not escalate and ctx.events:  # an open event and nothing proposed: a person looks
            escalate, note = True, note + "; no action proposed for an open event: escalated"
        return Plan(diagnosis=session.plan.diagnosis + (f" [{cites}]" if cites else ""),
                    actions=actions, planner=self.name, model=self.model_name,
                    prompt_tokens=sum(tokens), escalate=escalate, note=note,
                    source="llm-after-retry" if failures else "llm")

    async def _give_up(self, ctx: PlanContext, tokens: list[int], reason: str) -> Plan:
        note = f"LLM planner gave up after {len(tokens)} model call(s): {reason}"
        log.warning("planner %s: %s (run %s)", self.model_name, note, ctx.run_id)
        if self.fallback is None:
            return Plan(diagnosis=f"the model could not produce a valid plan ({reason}); a person should look",
                        planner=self.name, model=self.model_name, prompt_tokens=sum(tokens), escalate=True,
                        note=note, source="fallback")
        fb = await self.fallback.plan(ctx)
        return fb.model_copy(update={"planner": f"{self.name}>{fb.planner}", "model": self.model_name,
                                     "prompt_tokens": sum(tokens), "source": "fallback",
                                     "note": (fb.note + "; " if fb.note else "") + note})


def _with_ids(ai: AIMessage) -> AIMessage:
    """Give every tool call an id (some servers omit them) so each can be answered by a ToolMessage."""
    if all(c.get("id") for c in ai.tool_calls) and all(c.get("id") for c in ai.invalid_tool_calls):
        return ai
    calls = [c if c.get("id") else {**c, "id": f"call_{uuid.uuid4().hex[:10]}"} for c in ai.tool_calls]
    bad = [c if c.get("id") else {**c, "id": f"call_{uuid.uuid4().hex[:10]}"} for c in ai.invalid_tool_calls]
    return ai.model_copy(update={"tool_calls": calls, "invalid_tool_calls": bad})


def plan_response_format(ctx: PlanContext | None = None) -> dict[str, Any]:
    """The ``response_format`` of structured-output mode: the plan's JSON schema, which a server turns into a
    grammar (llama.cpp, vLLM), so even a small model's reply parses.

    With a context the schema is narrowed to this pilot: a write's ``target`` is one of the roles the policy
    allow-lists and its ``value`` a number; a method's target one of the allow-listed methods; an
    ``acknowledge`` is offered only when a plant alarm started the run, its target that alarm's condition id and
    its ``value`` the comment (the rest of the request comes from the alarm event). A small model
    then cannot even spell a write to a sensor (measured: a 0.5 B model wrote to the vibration sensor in every
    plan until this). The guard still checks everything."""
    schema = ProposePlan.model_json_schema()
    if ctx is None:
        return {"type": "json_schema", "json_schema": {"name": "propose_plan", "schema": schema}}
    role_of = {tid: role for role, tid in ctx.roles.items()}
    writable = sorted(role_of.get(tid, tid) for tid in ctx.write_rules)
    variants: list[dict[str, Any]] = [{
        "type": "object", "additionalProperties": False, "required": ["kind", "target", "value"],
        "properties": {"kind": {"const": "note"}, "target": {"type": "string", "maxLength": 40},
                       "value": {"type": "string", "maxLength": 400}, "reason": {"type": "string", "maxLength": 300}}}]
    if writable:
        variants.insert(0, {
            "type": "object", "additionalProperties": False, "required": ["kind", "target", "value"],
            "properties": {"kind": {"const": "write"}, "target": {"enum": writable}, "value": {"type": "number"},
                           "reason": {"type": "string", "maxLength": 300}}})
    if ctx.methods:
        variants.insert(1, {
            "type": "object", "additionalProperties": False, "required": ["kind", "target"],
            "properties": {"kind": {"const": "method"}, "target": {"enum": sorted(ctx.methods)},
                           "reason": {"type": "string", "maxLength": 300}}})
    alarms = sorted({e.alarm.condition_id for e in alarm_events(ctx.events) if e.alarm is not None})
    if alarms:  # only when a plant alarm started the run, and only that alarm's condition
        variants.append({
            "type": "object", "additionalProperties": False, "required": ["kind", "target", "value"],
            "properties": {"kind": {"const": "acknowledge"}, "target": {"enum": alarms},
                           "value": {"type": "string", "minLength": 1, "maxLength": MAX_COMMENT},
                           "reason": {"type": "string", "maxLength": 300}}})
    narrowed = {"type": "object", "additionalProperties": False, "required": ["diagnosis", "actions", "escalate"],
                "properties": {"diagnosis": {"type": "string", "maxLength": 600},
                               "actions": {"type": "array", "maxItems": 4, "items": {"anyOf": variants}},
                               "escalate": {"type": "boolean"},
                               "citations": {"type": "array", "maxItems": 4, "items": {"type": "string"}}}}
    return {"type": "json_schema", "json_schema": {"name": "propose_plan", "schema": narrowed}}


def _json_as_call(ai: AIMessage, tool_names: list[str]) -> AIMessage:
    """A reply with JSON in its text (fenced or plain) instead of tool calls, read as the tool call it means."""
    text = ai.text if isinstance(ai.content, list) else str(ai.content)
    obj = extract_json(text)
    call = as_tool_call(obj, tool_names) if obj is not None else None
    if call is None:
        return ai
    return ai.model_copy(update={"content": "", "tool_calls": [call], "invalid_tool_calls": []})
