"""The shared vocabulary: the values every layer passes around.

Values are frozen pydantic models. Names follow OPC UA (quality, source/server timestamp, node id) and
ISA-95 (enterprise/site/area/line/cell/equipment) so an industrial engineer recognises them.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "ActionKind",
    "ActionRequest",
    "ActionResult",
    "ActionStatus",
    "AlarmEvent",
    "AssetPath",
    "DataType",
    "Event",
    "Gap",
    "Limits",
    "Quality",
    "ReasonCode",
    "Sample",
    "Scalar",
    "Severity",
    "Tag",
    "utcnow",
]

Scalar = bool | int | float | str | None
"""A tag value. Arrays and structures are out of scope for now (they read as their string form)."""


def utcnow() -> datetime:
    """Timezone-aware now in UTC; all timestamps in factorypilot are aware."""
    return datetime.now(UTC)


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Quality(StrEnum):
    """OPC UA status code class of a sample."""

    GOOD = "good"
    UNCERTAIN = "uncertain"
    BAD = "bad"


class DataType(StrEnum):
    BOOLEAN = "boolean"
    INTEGER = "integer"
    FLOAT = "float"
    STRING = "string"
    DATETIME = "datetime"
    OTHER = "other"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ALARM = "alarm"
    CRITICAL = "critical"


_LEVELS = ("enterprise", "site", "area", "line", "cell", "equipment")


class AssetPath(_Value):
    """ISA-95 equipment hierarchy position. Missing lower levels are ``None``.

    ``str(path)`` is ``enterprise/site/area/line/cell/equipment`` without the trailing empty levels;
    ``AssetPath.parse`` reads it back. Korean names are fine (``대구공장/가공동/1라인``).
    """

    enterprise: str | None = None
    site: str | None = None
    area: str | None = None
    line: str | None = None
    cell: str | None = None
    equipment: str | None = None

    @classmethod
    def parse(cls, text: str) -> AssetPath:
        parts = [p for p in text.strip("/").split("/")] if text.strip("/") else []
        if len(parts) > len(_LEVELS):
            from factorypilot.errors import DataError

            raise DataError(f"asset path {text!r} has {len(parts)} levels; ISA-95 has at most 6",
                            hint="use enterprise/site/area/line/cell/equipment")
        return cls(**dict(zip(_LEVELS, parts, strict=False)))

    def levels(self) -> list[str]:
        values = [getattr(self, name) for name in _LEVELS]
        while values and values[-1] is None:
            values.pop()
        return [v or "" for v in values]

    def __str__(self) -> str:
        return "/".join(self.levels())


class Limits(_Value):
    """Engineering range of a tag (what the device accepts), not the safety policy's range."""

    low: float | None = None
    high: float | None = None

    def contains(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


class Tag(_Value):
    """A data point. ``id`` is connector-local (for OPC UA, the NodeId string such as ``ns=2;s=CNC1.Speed``)."""

    id: str
    name: str
    display_names: dict[str, str] = Field(default_factory=dict, description="locale -> display name")
    description: str = ""
    unit: str | None = None
    data_type: DataType = DataType.OTHER
    asset: AssetPath | None = None
    writable: bool = False
    limits: Limits | None = None

    def label(self, lang: str = "en") -> str:
        return self.display_names.get(lang) or self.name


class Sample(_Value):
    tag_id: str
    value: Scalar
    quality: Quality = Quality.GOOD
    source_time: datetime | None = None
    server_time: datetime | None = None

    @property
    def time(self) -> datetime | None:
        return self.source_time or self.server_time


class Gap(_Value):
    """A span where data was not delivered (subscription down, comms loss). Never silently skipped."""

    connector: str
    tag_ids: tuple[str, ...]
    start: datetime
    end: datetime | None = None
    reason: str = ""

    @property
    def seconds(self) -> float | None:
        return (self.end - self.start).total_seconds() if self.end else None


class Event(_Value):
    """An alarm, deviation or anomaly raised by a detector (or by the plant), with its evidence."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    kind: str = "anomaly"
    tag_id: str
    role: str | None = None
    severity: Severity = Severity.WARNING
    detector: str = ""
    message: str = ""
    value: Scalar = None
    time: datetime = Field(default_factory=utcnow)
    samples: tuple[Sample, ...] = ()
    alarm: AlarmEvent | None = Field(default=None, description="the plant alarm that raised it (kind 'alarm')")


class ActionKind(StrEnum):
    WRITE = "write"
    METHOD = "method"
    NOTE = "note"
    ACKNOWLEDGE = "acknowledge"
    """acknowledge a plant alarm (OPC UA Acknowledge): target = ConditionId, args = (EventId hex,), value = comment"""
    CONFIRM = "confirm"
    """confirm a plant alarm (OPC UA Confirm), same fields as ACKNOWLEDGE"""


class ActionStatus(StrEnum):
    PROPOSED = "proposed"
    REFUSED = "refused"
    PENDING_APPROVAL = "pending_approval"
    REJECTED = "rejected"
    DONE = "done"
    FAILED = "failed"
    UNCONFIRMED = "unconfirmed"


class ActionRequest(_Value):
    """A proposed change to the plant: a tag write, a method call, a work-order note or an alarm acknowledgement.

    For ``acknowledge``/``confirm``: ``target`` is the ConditionId, ``args`` the EventId (hex) of the state to
    acknowledge and, for a condition branch, the BranchId (``(event_id, branch_id)``), ``value`` the comment,
    ``object_id`` the alarm's source node and ``severity`` its severity
    (what the safety policy's alarm rules decide on; re-checked against the plant before acting).
    """

    kind: ActionKind = ActionKind.WRITE
    target: Annotated[str, Field(description="tag id (write), method node id (method), topic (note) or "
                                             "ConditionId (acknowledge/confirm)")]
    value: Scalar = None
    args: tuple[Scalar, ...] = ()
    object_id: str | None = Field(default=None, description="parent object of a method (OPC UA)")
    expect: dict[str, Scalar] = Field(
        default_factory=dict,
        description="read-back expectations (tag id -> value) that confirm the action; a write expects its own value",
    )
    reason: str = ""
    requested_by: str = "agent"
    event_id: str | None = None
    severity: int | None = Field(default=None, ge=1, le=1000,
                                 description="OPC UA severity of the alarm an acknowledge/confirm refers to")

    @field_validator("target")
    @classmethod
    def _non_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("target must not be empty")
        return v

    @property
    def is_alarm(self) -> bool:
        """An acknowledge or confirm of a plant alarm."""
        return self.kind in (ActionKind.ACKNOWLEDGE, ActionKind.CONFIRM)

    @property
    def alarm_branch(self) -> str | None:
        """The condition branch an acknowledge/confirm targets (None: the main branch)."""
        return str(self.args[1]) if self.is_alarm and len(self.args) > 1 and self.args[1] else None

    def fingerprint(self) -> str:
        """Stable hash of what the action *does* (not why): part of its idempotency key."""
        what: dict[str, object] = {"k": self.kind, "t": self.target, "v": self.value, "a": list(self.args),
                                   "o": self.object_id}
        if self.is_alarm:
            what["s"] = self.severity
        body = json.dumps(what, sort_keys=True, default=str)
        return hashlib.sha256(body.encode()).hexdigest()[:16]


class ReasonCode(_Value):
    """A reason as a stable code and the values its text names. The texts (English and Korean) are kept by the
    layer that defines the code (the safety guard's and the act step's: ``factorypilot.agents._reasons``)."""

    code: str
    args: dict[str, Any] = Field(default_factory=dict)


class ActionResult(_Value):
    """What happened to a request. ``status`` is ``done`` only when ``read_back`` confirmed it."""

    request: ActionRequest
    status: ActionStatus
    executed_value: Scalar = None
    read_back: Sample | None = None
    reason: str = ""
    reason_codes: list[ReasonCode] = Field(
        default_factory=list, description="``reason`` as coded reasons (their English texts joined with '; ' "
        "are ``reason``), so it can be shown in Korean too; empty for a reason known only as text and in records "
        "written before codes existed")
    idempotency_key: str | None = None
    time: datetime = Field(default_factory=utcnow)

    def model_dump_jsonable(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class AlarmEvent(_Value):
    """One state of a plant alarm (OPC UA Alarms & Conditions), as the server reported it.

    ``condition_id`` identifies the alarm across its states (OPC UA ConditionId); ``refreshed`` marks a state
    delivered by ConditionRefresh (the alarm was already there when we connected or reconnected). The
    ``message`` keeps the server's text as sent (Korean stays Korean), with its ``message_locale``.
    """

    condition_id: str
    source_node: str = ""
    source_name: str = ""
    condition_name: str = ""
    event_type: str = Field(default="", description="browse name of the event type, e.g. OffNormalAlarmType")
    event_id: str = Field(default="", description="hex EventId of this notification (what Acknowledge needs)")
    message: str = ""
    message_locale: str = ""
    severity: int = Field(default=500, ge=1, le=1000, description="OPC UA severity 1..1000")
    active: bool = False
    acked: bool = True
    confirmed: bool = True
    retain: bool = False
    time: datetime = Field(default_factory=utcnow, description="when the state changed at the source")
    receive_time: datetime = Field(default_factory=utcnow, description="when the server received it")
    branch_id: str | None = Field(default=None, description="condition branch (None: the main branch)")
    refreshed: bool = False

    @property
    def level(self) -> Severity:
        """The OPC UA severity on factorypilot's four-step scale (≥ 800 critical, ≥ 500 alarm, ≥ 200 warning)."""
        if self.severity >= 800:
            return Severity.CRITICAL
        if self.severity >= 500:
            return Severity.ALARM
        if self.severity >= 200:
            return Severity.WARNING
        return Severity.INFO

    def state_key(self) -> tuple[object, ...]:
        """What makes two notifications of one condition the same state (used to drop duplicates)."""
        return (self.condition_id, self.branch_id, self.active, self.acked, self.confirmed, self.retain,
                self.severity, self.message, self.time)


Event.model_rebuild()
