"""The robotics model: a robot arc-welding cell (one 6-axis robot, its welding power source, a safety fence).

Coupling (what the robotics pilot relies on):

* joint 2 torque (% of rated) is ``(55 + friction) · speed²`` with a lag of ½ per tick, ``speed`` =
  ``speed_override``/100. A DRIFT/SPIKE on ``joint2_torque`` is extra friction (gearbox wear) *inside* the
  physics, so lowering ``speed_override`` lowers it; joint 2 motor temperature follows the torque slowly;
* cycle time is ``42 / √speed`` s; a fault on ``cycle_time`` is only seen in the published value (a slow
  wire feeder or a dirty torch, which the override cannot fix);
* an ALARM fault (or a torque above 130 %) stops the robot: ``robot_state = FAULT``, ``fault_active``,
  ``fault_code``, and the robot loses its home reference (``homed = false``). Recovery follows the manual:
  ``ResetFault()`` clears the fault (``robot_state = STOP``), then ``MoveHome()`` drives to home at reduced
  speed (``homed = true``), and the cell runs again. ``MoveHome`` refuses while a fault is active;
  ``SetSpeedOverride(Percent)`` sets the override (10..100 %; anything else is refused and changes nothing);
* one part per 4 ticks at 100 % speed while running; weld scrap rises with torque above 75 %.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

from factorypilot.pilots.simulator import Asset, Hierarchy, MethodArg, MethodSpec, PlantModel, Signal
from factorypilot.vocabulary import DataType, Limits, Scalar

__all__ = ["COLLISION_CODE", "RoboticsModel"]

F, INT, B, S = DataType.FLOAT, DataType.INTEGER, DataType.BOOLEAN, DataType.STRING
COLLISION_CODE = 1203
"""Fault code the model raises itself when joint 2 torque exceeds 130 % (collision detection)."""


def _reset_fault(model: PlantModel, args: tuple[Scalar, ...]) -> Scalar:
    assert isinstance(model, RoboticsModel)
    model.latched = False
    model.alarm_reset_requested = True
    model.values["fault_active"] = False
    model.values["fault_code"] = 0
    model.values["robot_state"] = "STOP"
    return True


def _move_home(model: PlantModel, args: tuple[Scalar, ...]) -> Scalar:
    assert isinstance(model, RoboticsModel)
    if model.values["fault_active"] or bool(model.values["cell_door_open"]):
        return False  # the controller refuses motion while faulted or with the fence open
    model.values["homed"] = True
    return True


def _set_speed_override(model: PlantModel, args: tuple[Scalar, ...]) -> Scalar:
    """The controller's override setter: it takes 10..100 % and refuses anything else (returns False)."""
    (percent,) = args
    if isinstance(percent, bool) or not isinstance(percent, int | float) or not 10.0 <= percent <= 100.0:
        return False
    model.values["speed_override"] = float(percent)
    return True


class RoboticsModel(PlantModel):
    name: ClassVar[str] = "robotics"
    title_ko: ClassVar[str] = "로봇 용접 셀"
    description: ClassVar[str] = "Robotics: a robot arc-welding cell (joint torque, fault codes, cycle time)."
    hierarchy: ClassVar[Hierarchy] = Hierarchy(
        enterprise=Asset("daegu-robotics", "DaeguRobotics", "대구로보틱스", "Robot integrator (simulated)"),
        site=Asset("seongseo-plant", "SeongseoPlant", "성서공장", "Daegu Seongseo plant"),
        area=Asset("welding", "Welding", "용접동", "Welding area"),
        line=Asset("cell", "Cell", "용접셀", "Robot welding cell"),
    )
    equipment: ClassVar[tuple[Asset, ...]] = (
        Asset("robot-01", "Robot01", "용접로봇 1호기", "6-axis arc welding robot"),
        Asset("welder-01", "Welder01", "용접전원 1호기", "Welding power source and wire feeder"),
    )
    signals: ClassVar[tuple[Signal, ...]] = (
        Signal("joint2_torque", "robot-01", "Joint2Torque", "2축 토크", "Joint 2 motor torque (% of rated)",
               F, "%", "P1", (0.0, 300.0), initial=55.0, historize=True),
        Signal("joint2_temperature", "robot-01", "Joint2Temperature", "2축 모터 온도", "Joint 2 motor temperature",
               F, "°C", "CEL", (0.0, 150.0), initial=49.0, historize=True),
        Signal("speed_override", "robot-01", "SpeedOverride", "속도 오버라이드", "Program speed override",
               F, "%", "P1", (0.0, 100.0), writable=True, limits=Limits(low=10.0, high=100.0), initial=100.0,
               historize=True),
        Signal("cycle_time", "robot-01", "CycleTime", "사이클 타임", "Last weld cycle time",
               F, "s", "SEC", (0.0, 600.0), initial=42.0, historize=True),
        Signal("robot_state", "robot-01", "RobotState", "로봇 상태", "Robot state: RUN, STOP or FAULT",
               S, initial="RUN"),
        Signal("homed", "robot-01", "Homed", "원점 복귀", "Home reference valid (false after a fault stop)",
               B, initial=True),
        Signal("fault_active", "robot-01", "FaultActive", "알람 발생", "A robot fault is active", B, initial=False),
        Signal("fault_code", "robot-01", "FaultCode", "알람 코드", "Active fault code (0 = none)", INT, initial=0),
        Signal("weld_current", "welder-01", "WeldCurrent", "용접 전류", "Arc welding current",
               F, "A", "AMP", (0.0, 500.0), initial=220.0, historize=True),
        Signal("cell_door_open", None, "CellDoorOpen", "안전펜스 도어 열림", "Safety fence door open",
               B, initial=False),
        Signal("part_counter", None, "PartCounter", "생산 수량", "Parts welded since start", INT, initial=0),
        Signal("good_count", None, "GoodCount", "양품 수량", "Good parts since start", INT, initial=0,
               historize=True),
        Signal("scrap_count", None, "ScrapCount", "불량 수량", "Scrapped parts since start", INT, initial=0,
               historize=True),
    )
    methods: ClassVar[tuple[MethodSpec, ...]] = (
        MethodSpec("ResetFault", "robot-01", "알람 리셋", "Reset the active robot fault (servo stays off)",
                   _reset_fault, output=MethodArg("Ok", B)),
        MethodSpec("MoveHome", "robot-01", "원점 복귀", "Move to the home position at reduced speed",
                   _move_home, output=MethodArg("Ok", B)),
        MethodSpec("SetSpeedOverride", "robot-01", "속도 오버라이드 설정", "Set the program speed override",
                   _set_speed_override, args=(MethodArg("Percent", F, "speed override in %"),),
                   output=MethodArg("Ok", B)),
    )
    absorbs: ClassVar[frozenset[str]] = frozenset({"joint2_torque"})
    alarm_roles: ClassVar[tuple[str, str] | None] = ("fault_active", "fault_code")
    counter_roles: ClassVar[tuple[str, str] | None] = ("good_count", "scrap_count")
    product_id: ClassVar[str] = "SEAT-FRAME-7710"

    def reset(self) -> None:
        self.torque = 55.0
        self.temperature = 49.0
        self.progress = 0.0
        self.latched = False

    def step(self, tick: int, disturbance: Mapping[str, float]) -> None:
        v, rng = self.values, self.rng
        speed = max(0.05, float(v["speed_override"] or 0.0) / 100.0)
        running = v["robot_state"] == "RUN"
        target = (55.0 + disturbance.get("joint2_torque", 0.0)) * speed**2 if running else 8.0
        self.torque += 0.5 * (target - self.torque)
        torque = max(0.0, self.torque + rng.gauss(0.0, 0.6))
        self.temperature += 0.03 * ((30.0 + 0.35 * torque) - self.temperature)
        if torque > 130.0:
            self.latched = True
        code = self.external_alarm if self.external_alarm is not None else (COLLISION_CODE if self.latched else 0)
        if code:
            v["robot_state"], v["homed"] = "FAULT", False
        elif v["robot_state"] == "FAULT":
            v["robot_state"] = "STOP"
        elif v["robot_state"] == "STOP" and v["homed"]:
            v["robot_state"] = "RUN"
        v["fault_active"], v["fault_code"] = bool(code), int(code)
        v["joint2_torque"] = round(torque, 3)
        v["joint2_temperature"] = round(self.temperature + rng.gauss(0.0, 0.05), 3)
        running = v["robot_state"] == "RUN"
        v["cycle_time"] = round(42.0 / math.sqrt(speed) + rng.gauss(0.0, 0.2), 3) if running else v["cycle_time"]
        v["weld_current"] = round(220.0 + rng.gauss(0.0, 1.5), 2) if running else 0.0
        if not running:
            return
        self.progress += 0.25 * speed
        while self.progress >= 1.0:
            self.progress -= 1.0
            scrapped = rng.random() < min(0.9, 0.01 + max(0.0, torque - 75.0) * 0.01)
            v["part_counter"] = int(v["part_counter"] or 0) + 1
            key = "scrap_count" if scrapped else "good_count"
            v[key] = int(v[key] or 0) + 1
