"""The planner interface: one small protocol, so a playbook and an LLM are interchangeable."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from factorypilot.vocabulary import ActionKind, ActionRequest, Event, Sample, Tag

__all__ = ["Plan", "PlanContext", "Planner", "alarm_events", "alarm_request", "localized"]

LocalizedText = str | dict[str, str]


def localized(text: LocalizedText, lang: str) -> str:
    """Pick ``lang`` from a ``{"en": ..., "ko": ...}`` mapping (falling back to English, then any)."""
    if isinstance(text, str):
        return text
    return text.get(lang) or text.get("en") or next(iter(text.values()), "")


def alarm_events(events: list[Event]) -> list[Event]:
    """The events raised by a plant alarm that can be acknowledged (they carry the alarm's EventId)."""
    return [e for e in events if e.alarm is not None and e.alarm.event_id]


def alarm_request(kind: ActionKind, event: Event, *, comment: str, reason: str,
                  requested_by: str) -> ActionRequest | None:
    """Acknowledge/confirm the plant alarm that raised ``event``: condition, EventId, branch, severity and source
    come from the alarm event itself (never from a planner's text); ``None`` if ``event`` is no plant alarm."""
    alarm = event.alarm
    if alarm is None or not alarm.event_id:
        return None
    return ActionRequest(kind=kind, target=alarm.condition_id,
                         args=(alarm.event_id, alarm.branch_id) if alarm.branch_id else (alarm.event_id,),
                         value=comment, object_id=alarm.source_node or None, severity=alarm.severity,
                         reason=reason, requested_by=requested_by, event_id=event.id)


class PlanContext(BaseModel):
    """What a planner may see: the *selected* context for this run, never the whole plant."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    events: list[Event]
    current: dict[str, Sample] = Field(default_factory=dict, description="tag id -> latest sample")
    tags: dict[str, Tag] = Field(default_factory=dict, description="metadata of the relevant tags")
    roles: dict[str, str] = Field(default_factory=dict, description="role -> tag id")
    knowledge: list[dict[str, Any]] = Field(default_factory=list, description="retrieved chunks with citations")
    refusals: list[str] = Field(default_factory=list, description="guard refusals from an earlier attempt")
    lang: str = "en"
    write_rules: dict[str, dict[str, float | None]] = Field(
        default_factory=dict, description="tag id -> {min, max, max_step}: the writes the policy allow-lists")
    methods: list[str] = Field(default_factory=list, description="roles of the methods the policy allow-lists")

    def value(self, role_or_id: str) -> Any:
        s = self.current.get(self.roles.get(role_or_id, role_or_id))
        return s.value if s else None


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True)

    diagnosis: str
    actions: list[ActionRequest] = Field(default_factory=list)
    planner: str
    model: str | None = None
    playbook: str | None = None
    prompt_tokens: int = 0
    escalate: bool = Field(default=False, description="hand over to a person (no safe automatic action)")
    note: str = ""
    source: str = Field(default="", description="who made the plan: playbook, llm, llm-after-retry or fallback "
                                                "(the model gave no valid plan and the fallback planned)")


@runtime_checkable
class Planner(Protocol):
    name: str

    def knowledge_queries(self, events: list[Event], lang: str) -> list[str]:
        """What to look up before planning (the retrieve node runs these)."""
        ...

    async def plan(self, ctx: PlanContext) -> Plan: ...
