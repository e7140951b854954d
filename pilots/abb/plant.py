"""The ABB model (AI·Big data·Blockchain): a traceability line of four stations building a sealed housing.

Stations, in order: ST10 press-fit (``press_force``), ST20 screw driving (``screw_torque``), ST30 laser/arc
welding (``weld_current``, set by ``weld_current_setpoint``), ST40 leak test (``leak_rate``, the quality gate).
Every 25 ticks a new lot starts (``lot_id`` ``LOT-260105-001`` …). A part leaves the line every 2 ticks; it is
good when its leak rate is below 2.0 sccm and the press force and screw torque are inside their windows.

Coupling (what the ABB pilot and ``factorypilot trace`` rely on):

* ``leak_rate = 0.6 + 0.12 · max(0, 176 − weld_current)`` sccm — a weld with too little current leaks, although
  ST30's own window (150–210 A) still accepts it: a *quality escape* that only ST40 sees. A DRIFT on
  ``weld_current`` (electrode wear) is absorbed by the physics, so raising ``weld_current_setpoint`` cures it;
* ``press_force`` and ``screw_torque`` scrap a part outside 10–14 kN and 3.8–5.2 Nm respectively.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from factorypilot.pilots.simulator import Asset, Hierarchy, PlantModel, Signal
from factorypilot.vocabulary import DataType, Limits

__all__ = ["LEAK_LIMIT", "STATIONS", "TICKS_PER_LOT", "AbbModel"]

F, INT, B, S = DataType.FLOAT, DataType.INTEGER, DataType.BOOLEAN, DataType.STRING
LEAK_LIMIT = 2.0
TICKS_PER_LOT = 25
STATIONS: dict[str, tuple[str, ...]] = {
    "st10-press": ("press_force",),
    "st20-screw": ("screw_torque",),
    "st30-weld": ("weld_current",),
    "st40-leak": ("leak_rate",),
}
"""Station (equipment key) → process-value roles recorded per lot for traceability."""
_WINDOWS = {"press_force": (10.0, 14.0), "screw_torque": (3.8, 5.2)}


class AbbModel(PlantModel):
    name: ClassVar[str] = "abb"
    title_ko: ClassVar[str] = "ABB 추적성 조립 라인"
    description: ClassVar[str] = "ABB: four-station assembly line with lot traceability (press, screw, weld, leak)."
    hierarchy: ClassVar[Hierarchy] = Hierarchy(
        enterprise=Asset("daegu-abb", "DaeguAbb", "대구에이비비", "Electronic housing maker (simulated)"),
        site=Asset("dalseong-plant", "DalseongPlant", "달성공장", "Daegu Dalseong plant"),
        area=Asset("assembly", "Assembly", "조립동", "Assembly area"),
        line=Asset("line", "Line", "조립라인", "Traceable assembly line"),
    )
    equipment: ClassVar[tuple[Asset, ...]] = (
        Asset("st10-press", "St10Press", "ST10 압입기", "Bearing press-fit station"),
        Asset("st20-screw", "St20Screw", "ST20 체결기", "Screw driving station"),
        Asset("st30-weld", "St30Weld", "ST30 용접기", "Housing seam welding station"),
        Asset("st40-leak", "St40Leak", "ST40 리크 시험기", "Leak test station (quality gate)"),
    )
    signals: ClassVar[tuple[Signal, ...]] = (
        Signal("press_force", "st10-press", "PressForce", "압입력", "Peak press-fit force", F, "kN", "B47",
               (0.0, 50.0), initial=12.0, historize=True),
        Signal("screw_torque", "st20-screw", "ScrewTorque", "체결 토크", "Final screw torque", F, "N·m", "NU",
               (0.0, 20.0), initial=4.5, historize=True),
        Signal("weld_current", "st30-weld", "WeldCurrent", "용접 전류", "Weld current", F, "A", "AMP",
               (0.0, 400.0), initial=180.0, historize=True),
        Signal("weld_current_setpoint", "st30-weld", "WeldCurrentSetpoint", "용접 전류 설정", "Weld current setpoint",
               F, "A", "AMP", (0.0, 400.0), writable=True, limits=Limits(low=150.0, high=210.0), initial=180.0,
               historize=True),
        Signal("leak_rate", "st40-leak", "LeakRate", "누설량", "Leak rate of the last part", F, "sccm", None,
               (0.0, 50.0), initial=0.6, historize=True),
        Signal("lot_id", None, "LotId", "로트 번호", "Current lot", S, initial="LOT-260105-001"),
        Signal("line_state", None, "LineState", "라인 상태", "Line state: RUN or STOP", S, initial="RUN"),
        Signal("part_counter", None, "PartCounter", "생산 수량", "Parts since start", INT, initial=0),
        Signal("good_count", None, "GoodCount", "양품 수량", "Good parts since start", INT, initial=0,
               historize=True),
        Signal("scrap_count", None, "ScrapCount", "불량 수량", "Rejected parts since start", INT, initial=0,
               historize=True),
    )
    absorbs: ClassVar[frozenset[str]] = frozenset({"weld_current", "press_force", "screw_torque"})
    counter_roles: ClassVar[tuple[str, str] | None] = ("good_count", "scrap_count")
    product_id: ClassVar[str] = "ECU-HOUSING-4410"

    def reset(self) -> None:
        self.progress = 0.0
        self.current = 180.0

    def step(self, tick: int, disturbance: Mapping[str, float]) -> None:
        v, rng = self.values, self.rng
        setpoint = float(v["weld_current_setpoint"] or 0.0)
        self.current += 0.5 * (setpoint + disturbance.get("weld_current", 0.0) - self.current)
        current = self.current + rng.gauss(0.0, 0.6)
        press = 12.0 + disturbance.get("press_force", 0.0) + rng.gauss(0.0, 0.15)
        screw = 4.5 + disturbance.get("screw_torque", 0.0) + rng.gauss(0.0, 0.05)
        leak = max(0.0, 0.6 + 0.12 * max(0.0, 176.0 - current) + rng.gauss(0.0, 0.05))
        v["press_force"] = round(press, 3)
        v["screw_torque"] = round(screw, 3)
        v["weld_current"] = round(current, 2)
        v["leak_rate"] = round(leak, 3)
        v["lot_id"] = f"LOT-260105-{tick // TICKS_PER_LOT + 1:03d}"
        self.progress += 0.5
        while self.progress >= 1.0:
            self.progress -= 1.0
            ok = leak < LEAK_LIMIT and all(lo <= x <= hi for x, (lo, hi) in
                                           ((press, _WINDOWS["press_force"]), (screw, _WINDOWS["screw_torque"])))
            v["part_counter"] = int(v["part_counter"] or 0) + 1
            key = "good_count" if ok else "scrap_count"
            v[key] = int(v[key] or 0) + 1
