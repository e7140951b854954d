"""The mobility-parts model: one CNC machining + press line (the first sector model).

This module is the naming layer only; the physics lives in :mod:`._line` (shared with ``mobility-kr``).
Coupling (what the demo relies on): spindle vibration follows ``(feed/100)²`` and tool wear with a lag of
a few ticks; a DRIFT fault on ``spindle_vibration`` is an excitation scaled by ``(feed/100)²`` as well, so
lowering ``feed_override`` mitigates it.
"""

from __future__ import annotations

from typing import ClassVar

from factorypilot.pilots.simulator import Asset, Hierarchy, MethodArg, MethodSpec, Signal
from factorypilot.vocabulary import DataType, Limits

from ._line import VIBRATION_ALARM_CODE, LineVariant, MachiningLineModel, change_tool, request_maintenance, reset_alarm

__all__ = ["VIBRATION_ALARM_CODE", "MobilityModel"]

F, INT, B, S = DataType.FLOAT, DataType.INTEGER, DataType.BOOLEAN, DataType.STRING


class MobilityModel(MachiningLineModel):
    name: ClassVar[str] = "mobility"
    title_ko: ClassVar[str] = "모빌리티 부품 가공·프레스 라인"
    description: ClassVar[str] = "Mobility parts: CNC machining cell and a press on one line (predictive maintenance)."
    hierarchy: ClassVar[Hierarchy] = Hierarchy(
        enterprise=Asset("daegu-mobility", "DaeguMobility", "대구모빌리티", "Mobility parts maker (simulated)"),
        site=Asset("daegu-plant", "DaeguPlant", "대구공장", "Daegu plant"),
        area=Asset("machining", "Machining", "가공동", "Machining and pressing area"),
        line=Asset("line", "Line", "가공라인", "CNC machining + press line"),
    )
    equipment: ClassVar[tuple[Asset, ...]] = (
        Asset("cnc-01", "CNC01", "CNC 가공기 1호기", "5-axis CNC machining centre"),
        Asset("press-01", "Press01", "프레스 1호기", "Servo press"),
    )
    signals: ClassVar[tuple[Signal, ...]] = (
        Signal("spindle_speed", "cnc-01", "SpindleSpeed", "주축 회전속도", "Spindle speed",
               F, "rpm", "RPM", (0.0, 15000.0), initial=8000.0, historize=True),
        Signal("spindle_load", "cnc-01", "SpindleLoad", "주축 부하", "Spindle load (percent of rated torque)",
               F, "%", "P1", (0.0, 150.0), initial=75.0, historize=True),
        Signal("spindle_vibration", "cnc-01", "SpindleVibration", "주축 진동", "Spindle vibration velocity (RMS)",
               F, "mm/s", "C16", (0.0, 50.0), initial=2.1, historize=True),
        Signal("spindle_temperature", "cnc-01", "SpindleTemperature", "주축 온도", "Spindle bearing temperature",
               F, "°C", "CEL", (0.0, 150.0), initial=45.0, historize=True),
        Signal("tool_wear", "cnc-01", "ToolWear", "공구 마모율", "Cutting tool wear (0 = new, 100 = worn out)",
               F, "%", "P1", (0.0, 100.0), initial=10.0, historize=True),
        Signal("feed_override", "cnc-01", "FeedOverride", "이송 오버라이드", "Feed rate override setpoint",
               F, "%", "P1", (0.0, 120.0), writable=True, limits=Limits(low=0.0, high=120.0), initial=100.0,
               historize=True),
        Signal("machine_state", "cnc-01", "MachineState", "설비 상태", "Machine state: RUN, IDLE or ALARM",
               S, initial="RUN"),
        Signal("door_open", "cnc-01", "DoorOpen", "도어 열림", "Machine door open", B, initial=False),
        Signal("press_tonnage", "press-01", "PressTonnage", "프레스 톤수", "Peak press force of the last stroke",
               F, "kN", "B47", (0.0, 2500.0), initial=1200.0, historize=True),
        Signal("stroke_count", "press-01", "StrokeCount", "타수", "Press strokes since start", INT, initial=0),
        Signal("part_counter", None, "PartCounter", "생산 수량", "Parts produced since start", INT, initial=0,
               historize=True),
        Signal("good_count", None, "GoodCount", "양품 수량", "Good parts since start", INT, initial=0, historize=True),
        Signal("scrap_count", None, "ScrapCount", "불량 수량", "Scrapped parts since start", INT, initial=0,
               historize=True),
        Signal("alarm_active", None, "AlarmActive", "알람 발생", "A line alarm is active", B, initial=False),
        Signal("alarm_code", None, "AlarmCode", "알람 코드", "Code of the active alarm (0 = none)", INT, initial=0),
    )
    methods: ClassVar[tuple[MethodSpec, ...]] = (
        MethodSpec("ResetAlarm", None, "알람 리셋", "Acknowledge and reset the line alarm", reset_alarm,
                   output=MethodArg("Ok", B)),
        MethodSpec("RequestMaintenance", "cnc-01", "정비 요청", "Open a maintenance request with a note",
                   request_maintenance, args=(MethodArg("note", S, "What to check (free text, Korean ok)"),),
                   output=MethodArg("TicketId", S)),
        MethodSpec("ChangeTool", "cnc-01", "공구 교환", "Replace the cutting tool (tool wear back to 0)",
                   change_tool, output=MethodArg("Ok", B)),
    )
    absorbs: ClassVar[frozenset[str]] = frozenset({"spindle_vibration"})
    alarm_roles: ClassVar[tuple[str, str] | None] = ("alarm_active", "alarm_code")
    counter_roles: ClassVar[tuple[str, str] | None] = ("good_count", "scrap_count")
    product_id: ClassVar[str] = "BRK-CALIPER-2201"

    line: ClassVar[LineVariant] = LineVariant(
        feed="feed_override", wear="tool_wear", vibration="spindle_vibration", speed="spindle_speed",
        load="spindle_load", temperature="spindle_temperature", state="machine_state", door="door_open",
        alarm_active="alarm_active", alarm_code="alarm_code", parts="part_counter", strokes="stroke_count",
        good="good_count", scrap="scrap_count", press_force="press_tonnage", ticket_prefix="MR")
