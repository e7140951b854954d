"""The mobility-parts model: one CNC machining + press line (the first sector model).

Coupling (what the demo relies on): spindle vibration follows ``(feed/100)²`` and tool wear with a lag of
a few ticks; a DRIFT fault on ``spindle_vibration`` is an excitation scaled by ``(feed/100)²`` as well, so
lowering ``feed_override`` mitigates it. Temperature follows load and vibration; tool wear grows per part,
faster at high feed and vibration; scrap probability rises with vibration; counters count parts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from factorypilot.pilots.simulator import Asset, Hierarchy, MethodArg, MethodSpec, PlantModel, Signal
from factorypilot.vocabulary import DataType, Limits, Scalar

__all__ = ["MobilityModel"]

F, INT, B, S = DataType.FLOAT, DataType.INTEGER, DataType.BOOLEAN, DataType.STRING
VIBRATION_ALARM_CODE = 2101
"""Alarm code the model raises itself when spindle vibration exceeds 11 mm/s (clears below 8 mm/s)."""


def _reset_alarm(model: PlantModel, args: tuple[Scalar, ...]) -> Scalar:
    assert isinstance(model, MobilityModel)
    model.alarm_latched = False
    model.alarm_reset_requested = True
    model.values["alarm_active"] = False
    model.values["alarm_code"] = 0
    return True


def _request_maintenance(model: PlantModel, args: tuple[Scalar, ...]) -> Scalar:
    assert isinstance(model, MobilityModel)
    model.maintenance_requests.append(str(args[0]) if args else "")
    return f"MR-{len(model.maintenance_requests):04d}"


def _change_tool(model: PlantModel, args: tuple[Scalar, ...]) -> Scalar:
    model.values["tool_wear"] = 0.0
    return True


class MobilityModel(PlantModel):
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
        MethodSpec("ResetAlarm", None, "알람 리셋", "Acknowledge and reset the line alarm", _reset_alarm,
                   output=MethodArg("Ok", B)),
        MethodSpec("RequestMaintenance", "cnc-01", "정비 요청", "Open a maintenance request with a note",
                   _request_maintenance, args=(MethodArg("note", S, "What to check (free text, Korean ok)"),),
                   output=MethodArg("TicketId", S)),
        MethodSpec("ChangeTool", "cnc-01", "공구 교환", "Replace the cutting tool (tool wear back to 0)",
                   _change_tool, output=MethodArg("Ok", B)),
    )
    absorbs: ClassVar[frozenset[str]] = frozenset({"spindle_vibration"})
    alarm_roles: ClassVar[tuple[str, str] | None] = ("alarm_active", "alarm_code")
    counter_roles: ClassVar[tuple[str, str] | None] = ("good_count", "scrap_count")
    product_id: ClassVar[str] = "BRK-CALIPER-2201"

    def reset(self) -> None:
        self.vibration = 2.1
        self.temperature = 45.0
        self.progress = 0.0
        self.alarm_latched = False
        self.alarm_reset_requested = False
        self.maintenance_requests: list[str] = []

    def step(self, tick: int, disturbance: Mapping[str, float]) -> None:
        v, rng = self.values, self.rng
        feed = float(v["feed_override"] or 0.0) / 100.0
        wear = float(v["tool_wear"] or 0.0) / 100.0
        fault_alarm = self.external_alarm
        # vibration: first-order lag towards a target set by feed, wear and any excitation (fault)
        excitation = disturbance.get("spindle_vibration", 0.0)
        target_vib = 1.6 + 0.5 * feed**2 + 3.0 * wear**2 * feed + excitation * feed**2
        self.vibration += 0.5 * (target_vib - self.vibration)
        vib = max(0.0, self.vibration + rng.gauss(0.0, 0.04))
        # alarm: latched on high vibration, cleared with hysteresis; a fault alarm overrides
        if vib > 11.0:
            self.alarm_latched = True
        elif vib < 8.0:
            self.alarm_latched = False
        alarm = fault_alarm is not None or self.alarm_latched
        running = feed > 0.005 and not alarm
        speed = 8000.0 * min(feed, 1.2) + rng.gauss(0.0, 15.0) if running else 0.0
        load = (30.0 + 45.0 * feed + 20.0 * wear + rng.gauss(0.0, 0.8)) if running else 2.0
        self.temperature += 0.05 * ((22.0 + 0.3 * load + 1.5 * vib) - self.temperature)
        v["spindle_speed"] = round(max(0.0, speed), 3)
        v["spindle_load"] = round(max(0.0, load), 3)
        v["spindle_vibration"] = round(vib, 4)
        v["spindle_temperature"] = round(self.temperature + rng.gauss(0.0, 0.05), 3)
        v["machine_state"] = "ALARM" if alarm else ("RUN" if running else "IDLE")
        v["door_open"] = not running and not alarm
        v["alarm_active"] = alarm
        v["alarm_code"] = fault_alarm if fault_alarm is not None else (VIBRATION_ALARM_CODE if alarm else 0)
        if not running:
            return
        # production: one part per 4 ticks at 100 % feed
        self.progress += 0.25 * feed
        while self.progress >= 1.0:
            self.progress -= 1.0
            scrap_p = min(0.9, 0.01 + max(0.0, vib - 4.0) * 0.06)
            scrapped = rng.random() < scrap_p
            v["part_counter"] = int(v["part_counter"] or 0) + 1
            v["stroke_count"] = int(v["stroke_count"] or 0) + 1
            key = "scrap_count" if scrapped else "good_count"
            v[key] = int(v[key] or 0) + 1
            v["press_tonnage"] = round(1200.0 + rng.gauss(0.0, 25.0), 2)
            v["tool_wear"] = round(min(100.0, float(v["tool_wear"] or 0.0)
                                       + 0.02 * feed**2 * (1.0 + vib / 10.0)), 5)
