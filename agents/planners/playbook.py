"""``PlaybookPlanner``: deterministic plans from YAML playbooks — the offline default.

A playbook says: *when* an event matches (role, detector kind, minimum severity), here is the *diagnosis*,
what to *look up* in the company's documents, and which *actions* to propose with their reasons. Values
can be absolute (``value: 80``), relative to the current value (``delta: -15``) or a factor (``scale: 0.85``),
optionally clamped (``floor``/``ceiling``) — the clamp is the planner's intent; the safety policy is still
enforced separately by the guard.

Example::

    - id: spindle-vibration-high
      when: {role: spindle_vibration, severity: warning}
      diagnosis: {en: "Spindle vibration high: likely tool wear or chatter", ko: "주축 진동 상승: 공구 마모 또는 채터"}
      knowledge: ["spindle vibration feed override", "주축 진동 조치"]
      actions:
        - write: feed_override
          delta: -15
          floor: 60
          reason: {en: "Lower feed to reduce cutting load", ko: "이송 속도를 낮춰 절삭 부하 감소"}
        - note: maintenance
          text: {en: "Inspect tool and spindle bearing", ko: "공구 및 주축 베어링 점검"}

    - id: lube-pressure-alarm            # a plant alarm (detector kind: alarm) starts the run
      when: {detector: alarm, role: spindle_lubrication, message: "2201"}
      diagnosis: {en: "Spindle lubrication pressure low", ko: "주축 윤활 압력 저하"}
      actions:
        - note: maintenance
          text: {en: "Check the lubrication pump", ko: "윤활 펌프 점검"}
        - acknowledge: alarm             # the policy's alarm rules decide (and usually ask a person)
          text: {en: "Maintenance notified", ko: "정비 통보함"}
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from factorypilot.agents._detect_alarm import regular_expression
from factorypilot.agents.planners.base import LocalizedText, Plan, PlanContext, alarm_request, localized
from factorypilot.errors import ConfigError
from factorypilot.vocabulary import ActionKind, ActionRequest, Event, Scalar, Severity

__all__ = ["Playbook", "PlaybookAction", "PlaybookPlanner", "load_playbooks"]

_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ALARM: 2, Severity.CRITICAL: 3}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Match(_Strict):
    role: str | None = None
    detector: str | None = Field(default=None, description="detector kind prefix, e.g. 'threshold' or 'alarm'")
    severity: Severity = Severity.INFO
    source: str | None = Field(default=None, description="plant alarms: glob over the alarm's source node id or "
                                                         "source name")
    message: str | None = Field(default=None, description="regular expression searched in the event message "
                                                          "(for plant alarms: the alarm text, e.g. its code)")

    @field_validator("message")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        return regular_expression(v)


class PlaybookAction(_Strict):
    write: str | None = Field(default=None, description="role or tag id to write")
    call: str | None = Field(default=None, description="role or method id to call")
    object: str | None = Field(default=None, description="parent object of the method")
    note: str | None = Field(default=None, description="work-order note topic")
    acknowledge: Literal["alarm"] | None = Field(default=None, description="acknowledge the plant alarm that "
                                                 "triggered the run (comment: text); the policy's alarm rules decide")
    confirm: Literal["alarm"] | None = Field(default=None, description="confirm that alarm (comment: text)")
    value: Scalar = None
    delta: float | None = None
    scale: float | None = None
    floor: float | None = None
    ceiling: float | None = None
    args: list[Scalar] = Field(default_factory=list)
    expect: dict[str, Scalar] = Field(default_factory=dict,
                                      description="read-back that confirms the action: role or tag id -> value")
    text: LocalizedText = ""
    reason: LocalizedText = ""

    @model_validator(mode="after")
    def _one_kind(self) -> PlaybookAction:
        if sum(x is not None for x in (self.write, self.call, self.note, self.acknowledge, self.confirm)) != 1:
            raise ValueError("each action needs exactly one of: write, call, note, acknowledge, confirm")
        if self.write is not None and sum(x is not None for x in (self.value, self.delta, self.scale)) != 1:
            raise ValueError("a write action needs exactly one of: value, delta, scale")
        return self


class Playbook(_Strict):
    id: str
    title: LocalizedText = ""
    when: Match
    diagnosis: LocalizedText
    knowledge: list[str] = Field(default_factory=list)
    actions: list[PlaybookAction] = Field(default_factory=list)
    escalate: bool = False

    def matches(self, event: Event) -> bool:
        w = self.when
        if event.kind in ("data-quality", "alarm") and w.detector is None:
            # a frozen or implausible sensor says nothing about the process: only a playbook keyed on that
            # detector (e.g. ``when: {detector: flatline}``) may answer it, never one keyed on the role alone;
            # likewise a plant alarm is answered only by a playbook keyed on ``detector: alarm``
            return False
        alarm = event.alarm
        if w.source is not None and (alarm is None or not (fnmatch.fnmatchcase(alarm.source_node, w.source)
                                                           or fnmatch.fnmatchcase(alarm.source_name, w.source))):
            return False
        if w.message is not None and re.search(w.message, event.message) is None:
            return False
        return ((w.role is None or w.role == event.role or w.role == event.tag_id)
                and (w.detector is None or event.detector.startswith(w.detector))
                and _RANK[event.severity] >= _RANK[w.severity])


def load_playbooks(source: Path | list[dict[str, Any]]) -> list[Playbook]:
    """Read playbooks from a YAML file (a list, or ``{playbooks: [...]}``) or parsed data."""
    where = str(source) if isinstance(source, Path) else "playbooks"
    if isinstance(source, Path):
        try:
            data = yaml.safe_load(source.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read playbooks: {exc}", where=where,
                              hint="playbooks are UTF-8 YAML: a list of {id, when, diagnosis, actions}") from exc
    else:
        data = source
    if isinstance(data, dict):
        data = data.get("playbooks", [])
    if not isinstance(data, list):
        raise ConfigError("playbooks must be a list", where=where)
    out = []
    for i, item in enumerate(data):
        try:
            out.append(Playbook.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"playbook #{i + 1} invalid: {loc}: {first['msg']}", where=where,
                              hint="unknown keys are refused; see docs/agents.md for the playbook format") from exc
    ids = [p.id for p in out]
    if len(ids) != len(set(ids)):
        raise ConfigError("playbook ids must be unique", where=where)
    return out


class PlaybookPlanner:
    """Deterministic planner: the first matching playbook per event (highest severity event first)."""

    name = "playbook"

    def __init__(self, playbooks: list[Playbook]) -> None:
        self.playbooks = playbooks

    def _match(self, events: list[Event]) -> tuple[Event, Playbook] | None:
        for ev in sorted(events, key=lambda e: -_RANK[e.severity]):
            for pb in self.playbooks:
                if pb.matches(ev):
                    return ev, pb
        return None

    def knowledge_queries(self, events: list[Event], lang: str) -> list[str]:
        found = self._match(events)
        return list(found[1].knowledge) if found else []

    async def plan(self, ctx: PlanContext) -> Plan:
        found = self._match(ctx.events)
        if found is None:
            return Plan(diagnosis="no playbook matches these events; a person should look", planner=self.name,
                        escalate=bool(ctx.events), source="playbook")
        event, pb = found
        actions = [self._request(a, ctx, event) for a in pb.actions]
        diagnosis = localized(pb.diagnosis, ctx.lang)
        return Plan(diagnosis=diagnosis, actions=[a for a in actions if a is not None], planner=self.name,
                    playbook=pb.id, escalate=pb.escalate, source="playbook")

    def _request(self, a: PlaybookAction, ctx: PlanContext, event: Event) -> ActionRequest | None:
        reason = localized(a.reason, ctx.lang) or localized(ctx.events[0].message, ctx.lang)
        if a.note is not None:
            return ActionRequest(kind=ActionKind.NOTE, target=a.note, value=localized(a.text, ctx.lang),
                                 reason=reason, requested_by="playbook", event_id=event.id)
        if a.acknowledge is not None or a.confirm is not None:
            # None when not raised by a plant alarm: nothing to acknowledge
            return alarm_request(ActionKind.ACKNOWLEDGE if a.acknowledge else ActionKind.CONFIRM, event,
                                 comment=localized(a.text, ctx.lang) or reason, reason=reason,
                                 requested_by="playbook")
        expect = {ctx.roles.get(k, k): v for k, v in a.expect.items()}
        if a.call is not None:
            return ActionRequest(kind=ActionKind.METHOD, target=ctx.roles.get(a.call, a.call),
                                 object_id=ctx.roles.get(a.object, a.object) if a.object else None,
                                 args=tuple(a.args), expect=expect, reason=reason, requested_by="playbook",
                                 event_id=event.id)
        assert a.write is not None
        tag_id = ctx.roles.get(a.write, a.write)
        value: Scalar = a.value
        current = ctx.value(a.write)
        if a.delta is not None or a.scale is not None:
            if not isinstance(current, int | float) or isinstance(current, bool):
                return None  # cannot compute a relative change without a numeric current value
            value = current + a.delta if a.delta is not None else current * (a.scale or 1.0)
        if isinstance(value, float | int) and not isinstance(value, bool):
            if a.floor is not None:
                value = max(value, a.floor)
            if a.ceiling is not None:
                value = min(value, a.ceiling)
            value = round(float(value), 6)
            if isinstance(current, int | float) and abs(value - current) < 1e-9:
                return None  # already there: nothing to do
        return ActionRequest(kind=ActionKind.WRITE, target=tag_id, value=value, reason=reason, expect=expect,
                             requested_by="playbook", event_id=event.id)
