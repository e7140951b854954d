"""Alarm-driven detection: the plant's own alarms (OPC UA Alarms & Conditions) start a run.

A detector of ``kind: alarm`` matches alarm events by source (role, node id or glob over the source node and
source name), event type, minimum OPC UA severity and a message pattern (a regular expression searched in the
alarm text, e.g. an alarm code ``2101`` or ``진동``). It fires once when a matching condition becomes active
(also for an alarm already active when we connected, delivered by ConditionRefresh) and stays *active* until
every matching condition returned to normal. The event is ``kind="alarm"``, carries the alarm itself
(``Event.alarm``: ConditionId, EventId, text) so a playbook can acknowledge it, and its message is the
plant's alarm text as sent (Korean kept).

Condition branches (OPC UA BranchId not null: an earlier state of a condition the server keeps for
acknowledgement) are tracked apart from the main branch, by (ConditionId, BranchId): an active branch fires
once like its own alarm, and its event carries the branch's EventId, so an acknowledgement targets the branch.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from factorypilot.vocabulary import AlarmEvent, Event, Sample, Severity


def regular_expression(v: str | None) -> str | None:
    """``v`` unchanged if it compiles as a regular expression (for a ``message`` field), else a ValueError."""
    if v is not None:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"message is not a regular expression: {exc}") from exc
    return v

__all__ = ["AlarmDetector", "AlarmDetectorConfig", "run_alarm_detectors"]


class AlarmDetectorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["alarm"] = "alarm"
    role: str = Field(description="pilot role the alarm concerns (reported as the event's role; playbooks key "
                                  "on it). Which alarms match is said by source, event_types, min_severity, message")
    source: str | None = Field(default=None, description="glob over the alarm's source node id or source name; "
                                                         "unset: any source")
    event_types: list[str] = Field(default_factory=list, description="e.g. [OffNormalAlarmType]; empty: any")
    min_severity: int = Field(default=1, ge=1, le=1000, description="OPC UA severity 1..1000")
    message: str | None = Field(default=None, description="regular expression searched in the alarm text")
    severity: Severity | None = Field(default=None, description="event severity; unset: from the plant's severity")
    name: str | None = None

    @field_validator("message")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        return regular_expression(v)


class AlarmDetector:
    """Fed alarm events (``update_alarm``); samples never fire it."""

    def __init__(self, cfg: AlarmDetectorConfig, tag_id: str) -> None:
        self.cfg = cfg
        self.tag_id = tag_id
        self.name = cfg.name or f"alarm:{cfg.role}"
        self._active: dict[tuple[str, str | None], bool] = {}
        self._pattern = re.compile(cfg.message) if cfg.message else None

    @property
    def active(self) -> bool:
        return any(self._active.values())

    def update(self, sample: Sample) -> Event | None:
        return None

    def matches(self, alarm: AlarmEvent) -> bool:
        c = self.cfg
        if c.source is not None and not (fnmatch.fnmatchcase(alarm.source_node, c.source)
                                         or fnmatch.fnmatchcase(alarm.source_name, c.source)):
            return False
        return ((not c.event_types or alarm.event_type in c.event_types) and alarm.severity >= c.min_severity
                and (self._pattern is None or self._pattern.search(alarm.message) is not None))

    def update_alarm(self, alarm: AlarmEvent) -> Event | None:
        if not self.matches(alarm):
            return None
        key = (alarm.condition_id, alarm.branch_id)
        was = self._active.get(key, False)
        self._active[key] = alarm.active and (alarm.retain or alarm.branch_id is None)  # a branch ends unretained
        if not alarm.active or was:
            return None
        return Event(kind="alarm", tag_id=alarm.source_node or self.tag_id, role=self.cfg.role,
                     severity=self.cfg.severity or alarm.level, detector=self.name, message=alarm.message,
                     value=alarm.severity, time=alarm.time, alarm=alarm)


def run_alarm_detectors(configs: list[AlarmDetectorConfig], roles: dict[str, str],
                        alarms: list[AlarmEvent]) -> list[Event]:
    """Replay ``alarms`` (oldest first) through fresh alarm detectors; the last firing of each detector whose
    alarm is still active at the end (an alarm that already returned to normal is history)."""
    events: list[Event] = []
    for cfg in configs:
        det = AlarmDetector(cfg, roles.get(cfg.role, cfg.role))
        last: Event | None = None
        for alarm in alarms:
            ev = det.update_alarm(alarm)
            if ev is not None:
                last = ev
        if last is not None and det.active:
            events.append(last)
    return events
