"""The tools the LLM planner offers, their argument schemas, and how a call is answered.

Read tools answer from the pilot's roles only (a live read through the connector when one is given, else
the run's observation) and the knowledge retriever. Action tools only *propose*: they append an
``ActionRequest`` for the guard to judge — nothing here writes to the plant. A bad call raises
:class:`ToolCallError`, whose text goes back to the model as an error ``ToolMessage``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from factorypilot.agents.planners._llm_guidance import is_number, no_op_error
from factorypilot.agents.planners._llm_parse import NotANumber, coerce_number
from factorypilot.agents.planners._untrusted import quote_untrusted
from factorypilot.agents.planners.base import PlanContext, alarm_events, alarm_request
from factorypilot.vocabulary import ActionKind, ActionRequest, DataType, Sample, Scalar

__all__ = ["MAX_COMMENT", "TOOLS", "ProposePlan", "ToolCallError", "ToolSession"]

MAX_COMMENT = 400  # an acknowledge comment goes to the plant (OPC UA Comment): short, never cut silently

Reader = Callable[[list[str]], Awaitable[list[Sample]]]
Search = Callable[[str, int], Awaitable[list[dict[str, Any]]]]


class ToolCallError(Exception):
    """A tool call the planner cannot accept; the message is fed back to the model."""


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReadTags(_Args):
    """Read the current values of some of the pilot's roles (role names or their tag ids)."""

    tags: list[str] = Field(min_length=1, max_length=20)


class SearchKnowledge(_Args):
    """Search the company's documents (manuals, work instructions, past reports); returns cited chunks."""

    query: str = Field(min_length=1, max_length=300)
    k: int = Field(default=3, ge=1, le=5)


class AddWorkOrderNote(_Args):
    """Propose a work-order note for people (maintenance, quality, shift lead). Nothing is written to the plant."""

    topic: str = Field(min_length=1, max_length=80)
    text: str = Field(min_length=1, max_length=1000)


class ProposeWrite(_Args):
    """Propose writing a value to a role's tag. The safety guard decides; you never write yourself."""

    target: str = Field(description="role name or its tag id")
    value: bool | int | float | str
    reason: str = Field(default="", max_length=500)


class ProposeMethod(_Args):
    """Propose calling a method (e.g. reset, start inspection). The safety guard decides."""

    target: str = Field(description="role name or method id")
    args: list[Scalar] = Field(default_factory=list)
    object: str | None = Field(default=None, description="parent object of the method, if any")
    reason: str = Field(default="", max_length=500)


class PlannedAction(_Args):
    kind: Literal["write", "method", "note", "acknowledge"]
    target: str = Field(description="role name / tag id (write), method (method), topic (note) or the condition "
                                    "id of the plant alarm that started this run (acknowledge)")
    value: Scalar = Field(default=None, description="value to write, the note text, or the acknowledge comment")
    args: list[Scalar] = Field(default_factory=list)
    reason: str = Field(default="", max_length=500)

    @model_validator(mode="before")
    @classmethod
    def _note_in_tool_words(cls, data: Any) -> Any:
        """A note action written with ``add_work_order_note``'s own words (``topic``, ``text``) means ``target``
        and ``value``: small models carry that tool's argument names into ``propose_plan`` (measured: every
        1.5 B tools-mode fallback on mobility). Only for ``kind: note``, only when the plan's own key is absent;
        anything else still fails validation and goes back to the model."""
        if isinstance(data, dict) and data.get("kind") == "note":
            data = dict(data)
            for theirs, ours in (("topic", "target"), ("text", "value")):
                if theirs in data and ours not in data:
                    data[ours] = data.pop(theirs)
        return data


class ProposePlan(_Args):
    """Finish: the diagnosis, any further actions, and whether a person must decide (escalate)."""

    diagnosis: str = Field(min_length=1, max_length=2000)
    actions: list[PlannedAction] = Field(default_factory=list, max_length=10)
    escalate: bool = False
    citations: list[str] = Field(default_factory=list)


TOOLS: dict[str, type[_Args]] = {
    "read_tags": ReadTags, "search_knowledge": SearchKnowledge, "add_work_order_note": AddWorkOrderNote,
    "propose_write": ProposeWrite, "propose_method": ProposeMethod, "propose_plan": ProposePlan,
}


def _validation_text(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors()[:5])


@dataclass
class ToolSession:
    """One planning step's tool state: the context, the proposals so far, and the lookups."""

    ctx: PlanContext
    requested_by: str
    reader: Reader | None = None
    search: Search | None = None
    enabled: frozenset[str] | None = None
    proposals: list[ActionRequest] = field(default_factory=list)
    plan: ProposePlan | None = None

    def tool_names(self) -> list[str]:
        return [name for name in TOOLS if (name != "search_knowledge" or self.search is not None)
                and (self.enabled is None or name in self.enabled or name == "propose_plan")]

    def tool_schemas(self) -> list[dict[str, Any]]:
        """OpenAI-style tool definitions, named as the model must call them (``propose_plan`` ...)."""
        out = []
        for name in self.tool_names():
            schema = convert_to_openai_tool(TOOLS[name])
            schema["function"]["name"] = name
            if name == "propose_plan" and not alarm_events(self.ctx.events):  # offered only for a plant alarm
                kind = schema["function"]["parameters"]["properties"]["actions"]["items"]["properties"]["kind"]
                kind["enum"] = [k for k in kind["enum"] if k != "acknowledge"]
            out.append(schema)
        return out

    def _tag_id(self, target: str) -> str:
        if target in self.ctx.roles:
            return self.ctx.roles[target]
        if target in self.ctx.roles.values():
            return target
        raise ToolCallError(f"unknown target {target!r}: use one of the roles {sorted(self.ctx.roles)}")

    def _event_id(self) -> str | None:
        return self.ctx.events[0].id if self.ctx.events else None

    def _request(self, kind: ActionKind, target: str, reason: str, **kw: Any) -> ActionRequest:
        return ActionRequest(kind=kind, target=target, reason=reason, requested_by=self.requested_by,
                             event_id=self._event_id(), **kw)

    async def call(self, name: str, raw_args: dict[str, Any]) -> str:
        """Answer one tool call (the text for its ToolMessage) or raise ToolCallError."""
        if name not in self.tool_names():
            raise ToolCallError(f"unknown tool {name!r}; available: {self.tool_names()}")
        model = TOOLS[name]
        try:
            args = model.model_validate(raw_args)
        except ValidationError as exc:
            raise ToolCallError(f"invalid arguments for {name}: {_validation_text(exc)}") from exc
        if isinstance(args, ReadTags):
            return await self._read(args)
        if isinstance(args, SearchKnowledge):
            assert self.search is not None
            hits = await self.search(args.query, args.k)
            if hits and all(h.get("answerable") is False for h in hits):
                return ("no answer in the company's documents; closest: "
                    + ", ".join(quote_untrusted(h.get("citation"), 120) for h in hits))
            return "\n".join(f"- [{quote_untrusted(h.get('citation'), 120)}] {quote_untrusted(h.get('text', ''), 700)}"
                             for h in hits) or "no documents found"
        if isinstance(args, AddWorkOrderNote):
            self.proposals.append(self._request(ActionKind.NOTE, args.topic, "", value=args.text))
            return "note proposed"
        if isinstance(args, ProposeWrite):
            tag_id = self._tag_id(args.target)
            self.proposals.append(self._request(ActionKind.WRITE, tag_id, args.reason,
                                                value=self._value(args.target, tag_id, args.value)))
            return "write proposed; the safety guard will decide"
        if isinstance(args, ProposeMethod):
            self.proposals.append(self._request(ActionKind.METHOD, self._tag_id(args.target), args.reason,
                                                args=tuple(args.args),
                                                object_id=self._tag_id(args.object) if args.object else None))
            return "method call proposed; the safety guard will decide"
        assert isinstance(args, ProposePlan)
        values: dict[int, Scalar] = {}
        acks: dict[int, ActionRequest] = {}
        for i, a in enumerate(args.actions):  # validate all before accepting any
            if a.kind == "acknowledge":
                acks[i] = self._ack(a)
            elif a.kind != "note":
                tag_id = self._tag_id(a.target)
                if a.kind == "write":
                    values[i] = self._value(a.target, tag_id, a.value)
        for i, a in enumerate(args.actions):
            if a.kind == "note":
                self.proposals.append(self._request(ActionKind.NOTE, a.target, a.reason, value=a.value))
            elif a.kind == "acknowledge":
                self.proposals.append(acks[i])
            elif a.kind == "write":
                self.proposals.append(self._request(ActionKind.WRITE, self._tag_id(a.target), a.reason,
                                                    value=values[i]))
            else:
                self.proposals.append(self._request(ActionKind.METHOD, self._tag_id(a.target), a.reason,
                                                    args=tuple(a.args)))
        self.plan = args
        return "plan received; the safety guard will evaluate it"

    def _ack(self, a: PlannedAction) -> ActionRequest:
        """Acknowledge the plant alarm that started this run. The model names only the condition (it must be that
        alarm's) and writes the comment; EventId, branch, severity and source come from the alarm event."""
        alarms = alarm_events(self.ctx.events)
        if not alarms:
            raise ToolCallError("no plant alarm started this run: there is nothing to acknowledge; "
                                "remove the acknowledge action")
        event = next((e for e in alarms if e.alarm is not None and e.alarm.condition_id == a.target), None)
        if event is None:
            known = [e.alarm.condition_id for e in alarms if e.alarm is not None]
            raise ToolCallError(f"acknowledge target {quote_untrusted(a.target, 80)} is not the alarm that started "
                                f"this run; the only alarm you may acknowledge: {', '.join(known)}")
        comment = a.value if isinstance(a.value, str) and a.value.strip() else a.reason
        if not comment.strip():
            raise ToolCallError("an acknowledge needs a short comment in value (what was done or who was told)")
        if len(comment) > MAX_COMMENT:
            raise ToolCallError(f"the acknowledge comment is {len(comment)} characters; keep it under {MAX_COMMENT}")
        request = alarm_request(ActionKind.ACKNOWLEDGE, event, comment=comment.strip(), reason=a.reason,
                                requested_by=self.requested_by)
        assert request is not None  # alarm_events only holds events with an acknowledgeable alarm
        return request

    def _value(self, target: str, tag_id: str, value: Scalar) -> Scalar:
        """A write's value: numeric strings become numbers for a numeric target; anything else is refused."""
        rule = self.ctx.write_rules.get(tag_id) or {}
        tag = self.ctx.tags.get(tag_id)
        sample = self.ctx.current.get(tag_id)
        current = sample.value if sample is not None else None
        numeric = (any(rule.get(k) is not None for k in ("min", "max", "max_step"))
                   or (tag is not None and tag.data_type in (DataType.FLOAT, DataType.INTEGER))
                   or (isinstance(current, int | float) and not isinstance(current, bool)))
        if not numeric:
            return value
        lo, hi = rule.get("min"), rule.get("max")
        example = current if isinstance(current, int | float) and not isinstance(current, bool) else (
            lo if lo is not None else hi if hi is not None else 1)
        hint = ("send a plain JSON number" + (f" in {tag.unit}" if tag is not None and tag.unit else "")
                + (f" within [{lo:g}, {hi:g}]" if lo is not None and hi is not None else "")
                + (f", current value {current}" if current is not None else "") + f", e.g. {example}")
        try:
            number = coerce_number(value, what=target, hint=hint)
        except NotANumber as exc:
            raise ToolCallError(str(exc)) from exc
        if is_number(current) and abs(number - current) < 1e-9:  # type: ignore[operator]
            # a write of the value the tag already has is never what a plan means: send it back (one retry)
            raise ToolCallError(no_op_error(target, float(current), rule))  # type: ignore[arg-type]
        return number

    async def _read(self, args: ReadTags) -> str:
        ids = [self._tag_id(t) for t in args.tags]
        if self.reader is not None:
            samples = {s.tag_id: s for s in await self.reader(ids)}
        else:
            samples = {t: s for t, s in self.ctx.current.items() if t in ids}
        role_of = {tid: role for role, tid in self.ctx.roles.items()}
        out = {role_of.get(t, t): (samples[t].value if t in samples else None) for t in ids}
        return "\n".join(f"{role}: {quote_untrusted(v)}" for role, v in out.items())
