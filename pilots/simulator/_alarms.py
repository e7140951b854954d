"""Real OPC UA Alarms & Conditions for the simulated plant: one ``OffNormalAlarmType`` condition per line.

The model's ``alarm_roles`` (active flag, code) drive it: when the flag turns on, the condition becomes
active with a Korean and English message for the code and its severity; when it turns off, it returns to
normal. The condition stays *retained* (returned by ConditionRefresh) while it is active, not yet
acknowledged, or (with ``needs_confirm``) not yet confirmed. Each condition is also a node of type
``OffNormalAlarmType`` under the Server object (ConditionId = its NodeId), whose ``AckedState/Id``,
``ConfirmedState/Id``, ``ActiveState/Id``, ``Retain``, ``Severity``, ``EventId``, ``Time``, ``Message`` and
``SourceNode`` follow the state (the last four are those of the last state event sent), and the standard
``Acknowledge``/``Confirm`` methods (EventId + comment) work on it as OPC UA Part 9 says: an unknown EventId
is ``BadEventIdUnknown``, a second acknowledgement ``BadConditionBranchAlreadyAcked``. The conditions are
emitted by the Server object, and re-registered with their original transition time when the server
restarts after a comms drop, so a client's ConditionRefresh after reconnect sees the same state.

The Server object historizes them (``EventNotifier`` = SubscribeToEvents | HistoryRead): every emitted state
is stored as sent, and ``record`` stores a past state with a given time (a known past for back-tests), so
HistoryRead of events returns the plant's own alarm history.
"""

from __future__ import annotations

import copy
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from asyncua import ua
from asyncua.common.node import Node
from asyncua.server.event_generator import EventGenerator
from asyncua.server.server import Server
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.object_ids import ObjectIds
from asyncua.ua.status_codes import StatusCodes

from ._address_space import NodeLayout
from ._engine import PlantEngine
from ._opcua import History, status

__all__ = ["ALARM_TEXT", "PlantAlarms"]

_log = logging.getLogger(__name__)

ALARM_TEXT: dict[int, tuple[str, str, int]] = {
    # code: (Korean, English, OPC UA severity 1..1000)
    2101: ("주축 진동 과다", "Spindle vibration too high", 700),
    1203: ("로봇 충돌 감지", "Robot collision detected", 900),
    4102: ("그리퍼 진공 저하", "Gripper vacuum low", 600),
    3101: ("클린룸 차압 이탈", "Cleanroom pressure differential out of range", 800),
    5101: ("검사 불량률 상승", "Inspection reject rate high", 600),
    2201: ("주축 윤활 압력 저하", "Spindle lubrication pressure low", 600),
    3201: ("HEPA 필터 차압 높음 (필터 교체 필요)", "HEPA filter differential pressure high (replace the filter)", 500),
    5201: ("용접 토치 냉각수 유량 저하", "Weld torch coolant flow low", 700),
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
    confirmed: bool = True
    code: int = 0
    since: datetime = field(default_factory=lambda: datetime.now(UTC))
    generator: Any = None
    node: Node | None = None
    event_id: bytes = b""
    comments: list[tuple[str, str]] = field(default_factory=list)
    """(method, comment) of every accepted Acknowledge/Confirm call"""

    @property
    def retain(self) -> bool:
        return self.active or not self.acked or not self.confirmed


class PlantAlarms:
    """The A&C conditions of one simulator (state survives server restarts; generators do not)."""

    def __init__(self, engine: PlantEngine, *, needs_confirm: bool = False, history: History | None = None) -> None:
        self._engine = engine
        self._history = history
        self.conditions: dict[str, _Condition] = {}  # active role -> condition
        self.triggered = 0
        self.needs_confirm = needs_confirm
        """True: a new alarm also waits for Confirm (ConfirmedState false until confirmed)"""
        self.calls = 0
        """Acknowledge/Confirm calls that reached the plant (accepted or refused)"""
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
        if self.conditions:
            for method, confirm in ((ObjectIds.AcknowledgeableConditionType_Acknowledge, False),
                                    (ObjectIds.AcknowledgeableConditionType_Confirm, True)):
                server.link_method(server.get_node(ua.NodeId(cast(ua.Int32, method))), self._method(confirm))
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
            cond.node = await server.nodes.server.add_object(
                cond.condition_id, ua.QualifiedName(f"{ev.SourceName}.Condition", cond.source.NamespaceIndex),
                objecttype=ObjectIds.OffNormalAlarmType)
            for name, confirm in (("Acknowledge", False), ("Confirm", True)):
                server.link_method(await cond.node.get_child(f"0:{name}"), self._method(confirm))
            await self._write_state(cond)
        if self.conditions and self._history is not None:
            server_id = ua.NodeId(cast(ua.Int32, ObjectIds.Server))
            await self._history.ensure_events(server_id)
            await server.get_node(server_id).write_attribute(AttributeIds.EventNotifier, ua.DataValue(
                ua.Variant(1 << ua.EventNotifier.SubscribeToEvents.value | 1 << ua.EventNotifier.HistoryRead.value,
                           ua.VariantType.Byte)))
        for cond in self.conditions.values():
            if cond.retain:  # re-registered after a restart: the state is already in the history
                await self._trigger(cond, store=False)

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
                cond.code, cond.acked, cond.confirmed = code, False, not self.needs_confirm
            await self._trigger(cond)

    async def acknowledge(self, condition_id: str, comment: str = "", *, confirm: bool = False) -> bool:
        """Acknowledge (or confirm) a condition at the plant itself (an operator at the HMI); False if unknown
        or already done."""
        cond = self.by_condition_id(condition_id)
        if cond is None or (cond.confirmed if confirm else cond.acked):
            return False
        await self._accept(cond, comment, confirm)
        return True

    async def _accept(self, cond: _Condition, comment: str, confirm: bool) -> None:
        if confirm:
            cond.confirmed = True
        else:
            cond.acked = True
        cond.comments.append(("confirm" if confirm else "acknowledge", comment))
        await self._trigger(cond, keep_time=False, comment=comment)

    def _method(self, confirm: bool) -> Any:
        """The OPC UA method callback: (ConditionId, EventId, Comment) -> status (Part 9 §5.7.3/§5.7.4)."""

        async def call(parent: ua.NodeId, event_id: Any = None, comment: Any = None) -> Any:
            self.calls += 1
            eid = event_id.Value if isinstance(event_id, ua.Variant) else event_id
            text = comment.Value if isinstance(comment, ua.Variant) else comment
            cond = self.by_condition_id(parent.to_string())
            if cond is None:
                return status(StatusCodes.BadNodeIdUnknown)
            if not isinstance(eid, bytes) or eid != cond.event_id:
                return status(StatusCodes.BadEventIdUnknown)
            if confirm and cond.confirmed:
                return status(StatusCodes.BadConditionBranchAlreadyConfirmed)
            if not confirm and cond.acked:
                return status(StatusCodes.BadConditionBranchAlreadyAcked)
            await self._accept(cond, text.Text or "" if isinstance(text, ua.LocalizedText) else str(text or ""),
                               confirm)
            return []

        return call

    async def _write_state(self, cond: _Condition) -> None:
        if cond.node is None:
            return
        for path, value, vtype in ((("AckedState", "Id"), cond.acked, ua.VariantType.Boolean),
                                   (("ConfirmedState", "Id"), cond.confirmed, ua.VariantType.Boolean),
                                   (("ActiveState", "Id"), cond.active, ua.VariantType.Boolean),
                                   (("EnabledState", "Id"), True, ua.VariantType.Boolean),
                                   (("Retain",), cond.retain, ua.VariantType.Boolean),
                                   (("Severity",), alarm_text(cond.code)[2], ua.VariantType.UInt16)):
            child = await cond.node.get_child([f"0:{p}" for p in path])
            await child.write_value(ua.Variant(value, vtype))

    async def _write_event(self, cond: _Condition, ev: Any) -> None:
        """The condition node's EventId, Time, Message and SourceNode: those of the state event just sent (as
        Part 9 keeps them)."""
        if cond.node is None:
            return
        for name, variant in (("EventId", ua.Variant(cond.event_id, ua.VariantType.ByteString)),
                              ("Time", ua.Variant(ev.Time, ua.VariantType.DateTime)),
                              ("Message", ua.Variant(ev.Message, ua.VariantType.LocalizedText)),
                              ("SourceNode", ua.Variant(cond.source, ua.VariantType.NodeId))):
            await (await cond.node.get_child(f"0:{name}")).write_value(variant)

    async def record(self, role: str, *, active: bool, code: int, time: datetime, acked: bool | None = None) -> bytes:
        """Store a past state of ``role``'s condition in the event history (nothing is emitted, the live state
        is unchanged): the plant's own alarm log for a back-test. Returns the stored EventId."""
        cond = self.conditions[role]
        if cond.generator is None or self._history is None:
            raise RuntimeError("the simulator is not running (no event history to record into)")
        ev = copy.deepcopy(cond.generator.event)
        self._fill(ev, cond, active=active, code=code, acked=(not active) if acked is None else acked,
                   confirmed=True, retain=active or acked is False)
        ev.EventId = ua.Variant(uuid.uuid4().hex.encode(), ua.VariantType.ByteString)
        ev.Time = ev.ReceiveTime = time
        await self._history.save_event(ev)
        return bytes(ev.EventId.Value)

    @staticmethod
    def _fill(ev: Any, cond: _Condition, *, active: bool, code: int, acked: bool, confirmed: bool,
              retain: bool) -> None:
        ko, en, severity = alarm_text(code)
        ev.Message = ua.LocalizedText(f"{ko} / {en}", "ko-KR")
        ev.Severity = severity
        ev.Retain = retain
        setattr(ev, "ActiveState/Id", active)
        ev.ActiveState = ua.LocalizedText("Active" if active else "Inactive", "en")
        setattr(ev, "AckedState/Id", acked)
        ev.AckedState = ua.LocalizedText("Acknowledged" if acked else "Unacknowledged", "en")
        setattr(ev, "ConfirmedState/Id", confirmed)
        ev.ConfirmedState = ua.LocalizedText("Confirmed" if confirmed else "Unconfirmed", "en")
        setattr(ev, "EnabledState/Id", True)
        ev.EnabledState = ua.LocalizedText("Enabled", "en")

    async def _trigger(self, cond: _Condition, keep_time: bool = True, comment: str | None = None,
                       store: bool = True) -> None:
        await self._write_state(cond)
        if cond.generator is None:
            return
        ev = cond.generator.event
        self._fill(ev, cond, active=cond.active, code=cond.code, acked=cond.acked, confirmed=cond.confirmed,
                   retain=cond.retain)
        if comment is not None:
            ev.Comment = ua.LocalizedText(comment, "ko-KR")
        await cond.generator.trigger(time_attr=cond.since if keep_time else None)
        eid = ev.EventId.Value if isinstance(ev.EventId, ua.Variant) else ev.EventId
        cond.event_id = bytes(eid or b"")
        await self._write_event(cond, ev)
        if store and self._history is not None:
            await self._history.save_event(copy.deepcopy(ev))
        self.triggered += 1
        _log.info("simulator alarm %s %s (code %d)", cond.condition_id.to_string(),
                  "active" if cond.active else "normal", cond.code)
