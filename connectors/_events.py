"""Alarm-event plumbing shared by connectors: the filter a consumer gives and de-duplication by ConditionId.

A server re-sends the state of every retained condition on ConditionRefresh (after connect and after every
reconnect). :class:`AlarmDeduplicator` passes a condition's state the first time and drops the same state
seen again, so a reconnect during an active alarm does not raise it twice.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from factorypilot.vocabulary import AlarmEvent

__all__ = ["AlarmDeduplicator", "EventFilter"]


class EventFilter(BaseModel):
    """Which alarm events a consumer wants. Unset fields do not filter."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_severity: int = Field(default=1, ge=1, le=1000, description="OPC UA severity 1..1000")
    event_types: tuple[str, ...] = Field(default=(), description="event type browse names, e.g. OffNormalAlarmType")
    refresh: bool = Field(default=True, description="ask for the alarms already active (ConditionRefresh)")

    def accepts(self, event: AlarmEvent) -> bool:
        return event.severity >= self.min_severity and (not self.event_types or event.event_type in self.event_types)


class AlarmDeduplicator:
    """Remembers the last state delivered per condition (and branch); ``admit`` says whether to deliver."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str | None], tuple[object, ...]] = {}
        self.dropped = 0

    def admit(self, event: AlarmEvent) -> bool:
        key = (event.condition_id, event.branch_id)
        state = event.state_key()
        if self._last.get(key) == state:
            self.dropped += 1
            return False
        self._last[key] = state
        return True
