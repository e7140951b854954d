"""Real OPC UA Alarms & Conditions for the simulated plant: one ``OffNormalAlarmType`` condition per line.

The model's ``alarm_roles`` (active flag, code) drive it: when the flag turns on, the condition becomes
active with a Korean and English message for the code and its severity; when it turns off, it returns to
normal. The condition stays *retained* (returned by ConditionRefresh) while it is active or not yet
acknowledged; ``Acknowledge`` (see :meth:`PlantAlarms.acknowledge`) sets ``AckedState``. The conditions are
emitted by the Server object, and re-registered with their original transition time when the server
restarts after a comms drop, so a client's ConditionRefresh after reconnect sees the same state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from asyncua import ua
from asyncua.server.event_generator import EventGenerator
from asyncua.server.server import Server
from asyncua.ua.object_ids import ObjectIds

from ._address_space import NodeLayout
from ._engine import PlantEngine

__all__ = ["ALARM_TEXT", "PlantAlarms"]

_log = logging.getLogger(__name__)

ALARM_TEXT: dict[int, tuple[str, str, int]] = {
    # code: (Korean, English, OPC UA severity 1..1000)
    2101: ("주축 진동 과다", "Spindle vibration too high", 700),
    1203: ("로봇 충돌 감지", "Robot collision detected", 900),
    4102: ("그리퍼 진공 저하", "Gripper vacuum low", 600),
    3101: ("클린룸 차압 이탈", "Cleanroom pressure differential out of range", 800),
    5101: ("검사 불량률 상승", "Inspection reject rate high", 600),
}


def alarm_text(code: int) -> tuple[str, str, int]:
    """(Korean message, English message, severity) for an alarm code; unknown codes read as a generic alarm."""
    ko, en, severity = ALARM_TEXT.get(code, ("설비 알람", "Equipment alarm", 500))
    return f"{ko} (코드 {code})", f"{en} (code {code})", severity


@dataclass
class _Condition:
    unit: int
    active_role: str
    code_role: str
    condition_id: ua.NodeId
    source: ua.NodeId
    active: bool = False
    acked: bool = True
    code: int = 0
    since: datetime = field(default_factory=lambda: datetime.now(UTC))
    generator: Any = None

    @property
    def retain(self) -> bool:
        return self.active or not self.acked


class PlantAlarms:
    """The A&C conditions of one simulator (state survives server restarts; generators do not)."""

    def __init__(self, engine: PlantEngine) -> None:
        self._engine = engine
        self.conditions: dict[str, _Condition] = {}  # active role -> condition
        self.triggered = 0
        pair = engine.cls.alarm_roles
        if pair is None:
            return
        active, code = pair
        for role in engine.signals:
            local = engine.local_of[role]
            if local == active:
                code_role = role[: len(role) - len(active)] + code
                self.conditions[role] = _Condition(engine.unit_of[role], role, code_role, ua.NodeId(), ua.NodeId())

    def by_condition_id(self, condition_id: str) -> _Condition | None:
        return next((c for c in self.conditions.values() if c.condition_id.to_string() == condition_id), None)

    async def attach(self, server: Server, layout: NodeLayout) -> None:
        """Create the event generators on a (new) server; re-register conditions that are still retained."""
        for role, cond in self.conditions.items():
            cond.source = layout.variables[role]
            cond.condition_id = ua.NodeId(cast(ua.String, f"{cond.source.Identifier!s}.Condition"),
                                          cond.source.NamespaceIndex)
            gen: EventGenerator = await server.get_event_generator(ObjectIds.OffNormalAlarmType, ObjectIds.Server)
            ev = gen.event
            ev.SourceNode = cond.source
            ev.SourceName = layout.signals[role].browse_name
            ev.NodeId = cond.condition_id
            ev.ConditionName = f"{self._engine.cls.name}.{self._engine.line_key(cond.unit)}.alarm"
            cond.generator = gen
            if cond.retain:
                await self._trigger(cond)

    async def on_change(self, changed: dict[str, Any]) -> None:
        """Called with the values just published; raises or clears conditions whose flag changed."""
        for role, cond in self.conditions.items():
            if role not in changed and cond.code_role not in changed:
                continue
            active = bool(self._engine.published.get(role))
            code = int(self._engine.published.get(cond.code_role) or 0)
            if active == cond.active and (not active or code == cond.code):
                continue
            cond.active, cond.since = active, datetime.now(UTC)
            if active:
                cond.code, cond.acked = code, False
            await self._trigger(cond)

    async def acknowledge(self, condition_id: str) -> bool:
        """Acknowledge a condition (what the Acknowledge method does); False if unknown or already acked."""
        cond = self.by_condition_id(condition_id)
        if cond is None or cond.acked:
            return False
        cond.acked = True
        await self._trigger(cond, keep_time=False)
        return True

    async def _trigger(self, cond: _Condition, keep_time: bool = True) -> None:
        if cond.generator is None:
            return
        ko, en, severity = alarm_text(cond.code)
        ev = cond.generator.event
        ev.Message = ua.LocalizedText(f"{ko} / {en}", "ko-KR")
        ev.Severity = severity
        ev.Retain = cond.retain
        setattr(ev, "ActiveState/Id", cond.active)
        ev.ActiveState = ua.LocalizedText("Active" if cond.active else "Inactive", "en")
        setattr(ev, "AckedState/Id", cond.acked)
        ev.AckedState = ua.LocalizedText("Acknowledged" if cond.acked else "Unacknowledged", "en")
        setattr(ev, "ConfirmedState/Id", True)
        setattr(ev, "EnabledState/Id", True)
        ev.EnabledState = ua.LocalizedText("Enabled", "en")
        await cond.generator.trigger(time_attr=cond.since if keep_time else None)
        self.triggered += 1
        _log.info("simulator alarm %s %s (code %d)", cond.condition_id.to_string(),
                  "active" if cond.active else "normal", cond.code)
