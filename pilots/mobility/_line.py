"""The physics of the mobility machining + press line, written once for every plant that names it differently.

A plant model (``mobility``, ``mobility-kr``) is a *naming layer*: its signals, hierarchy, methods and a
:class:`LineVariant` saying which tag plays each part of the line. :class:`MachiningLineModel` holds the one
implementation of the physics.

Coupling: spindle vibration follows ``(feed/100)²`` and tool wear with a lag of a few ticks; a DRIFT fault on the
vibration tag is an excitation scaled by ``(feed/100)²`` as well, so lowering the feed override mitigates it.
Temperature follows load and vibration; tool wear grows per part, faster at high feed and vibration; scrap
probability rises with vibration; counters count parts.

The order of the random draws is part of each plant's contract (the golden figures record the streams), so the
variant declares it: ``load_before_speed`` and the :meth:`MachiningLineModel.extra_readings` hook, which a plant
with extra noisy tags (coolant, press vibration, oil temperature) overrides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from factorypilot.pilots.simulator import PlantModel
from factorypilot.vocabulary import Scalar

__all__ = ["VIBRATION_ALARM_CODE", "LineVariant", "MachiningLineModel", "change_tool", "request_maintenance",
           "reset_alarm"]

VIBRATION_ALARM_CODE = 2101
"""Alarm code the line raises itself on high spindle vibration (a fault alarm's code overrides it)."""


@dataclass(frozen=True)
class LineVariant:
    """How one plant names the line, and the few declared differences of its signal generation."""

    feed: str
    wear: str
    vibration: str
    speed: str
    load: str
    temperature: str
    state: str
    door: str
    alarm_active: str
    alarm_code: str
    parts: str
    strokes: str
    good: str
    scrap: str
    press_force: str
    ticket_prefix: str
    """Prefix of the ticket id ``RequestMaintenance`` returns (``MR`` → ``MR-0001``)."""
    press_force_mean: float = 1200.0
    press_force_sigma: float = 25.0
    spindle_override: str | None = None
    """A writable spindle override (percent) that scales the speed, or None."""
    alarm_setpoint: str | None = None
    """A writable vibration alarm limit (clears below 75 % of it), or None for the fixed 11 / 8 mm/s."""
    load_before_speed: bool = False
    """Draw the load noise before the speed noise (the draw order of ``mobility-kr``)."""


class MachiningLineModel(PlantModel):
    """One CNC machining cell and a press; subclasses declare their names in :attr:`line`."""

    line: ClassVar[LineVariant]

    def reset(self) -> None:
        self.vibration = 2.1
        self.temperature = 45.0
        self.progress = 0.0
        self.alarm_latched = False
        self.alarm_reset_requested = False
        self.maintenance_requests: list[str] = []

    def alarm_limits(self) -> tuple[float, float]:
        """(raise above, clear below) for the spindle vibration, in mm/s."""
        if self.line.alarm_setpoint is None:
            return 11.0, 8.0
        limit = float(self.values[self.line.alarm_setpoint] or 11.0)
        return limit, 0.75 * limit

    def extra_readings(self, load: float, running: bool) -> None:
        """Hook: publish a plant's extra tags; called after the temperature draw, before production."""

    def step(self, tick: int, disturbance: Mapping[str, float]) -> None:
        n, v, rng = self.line, self.values, self.rng
        feed = float(v[n.feed] or 0.0) / 100.0
        wear = float(v[n.wear] or 0.0) / 100.0
        fault_alarm = self.external_alarm
        # vibration: first-order lag towards a target set by feed, wear and any excitation (fault)
        excitation = disturbance.get(n.vibration, 0.0)
        target_vib = 1.6 + 0.5 * feed**2 + 3.0 * wear**2 * feed + excitation * feed**2
        self.vibration += 0.5 * (target_vib - self.vibration)
        vib = max(0.0, self.vibration + rng.gauss(0.0, 0.04))
        # alarm: latched on high vibration, cleared with hysteresis; a fault alarm overrides
        high, low = self.alarm_limits()
        if vib > high:
            self.alarm_latched = True
        elif vib < low:
            self.alarm_latched = False
        alarm = fault_alarm is not None or self.alarm_latched
        running = feed > 0.005 and not alarm
        speed, load = self._speed_and_load(feed, wear) if running else (0.0, 2.0)
        self.temperature += 0.05 * ((22.0 + 0.3 * load + 1.5 * vib) - self.temperature)
        v[n.speed] = round(max(0.0, speed), 3)
        v[n.load] = round(max(0.0, load), 3)
        v[n.vibration] = round(vib, 4)
        v[n.temperature] = round(self.temperature + rng.gauss(0.0, 0.05), 3)
        v[n.state] = "ALARM" if alarm else ("RUN" if running else "IDLE")
        v[n.door] = not running and not alarm
        v[n.alarm_active] = alarm
        v[n.alarm_code] = fault_alarm if fault_alarm is not None else (VIBRATION_ALARM_CODE if alarm else 0)
        self.extra_readings(load, running)
        if not running:
            return
        # production: one part per 4 ticks at 100 % feed
        self.progress += 0.25 * feed
        while self.progress >= 1.0:
            self.progress -= 1.0
            scrap_p = min(0.9, 0.01 + max(0.0, vib - 4.0) * 0.06)
            scrapped = rng.random() < scrap_p
            v[n.parts] = int(v[n.parts] or 0) + 1
            v[n.strokes] = int(v[n.strokes] or 0) + 1
            key = n.scrap if scrapped else n.good
            v[key] = int(v[key] or 0) + 1
            v[n.press_force] = round(n.press_force_mean + rng.gauss(0.0, n.press_force_sigma), 2)
            v[n.wear] = round(min(100.0, float(v[n.wear] or 0.0) + 0.02 * feed**2 * (1.0 + vib / 10.0)), 5)

    def _speed_and_load(self, feed: float, wear: float) -> tuple[float, float]:
        """Speed and load of a running spindle, drawing their noise in the variant's order."""
        n, rng = self.line, self.rng
        base = 8000.0 * min(feed, 1.2)
        if n.spindle_override is not None:
            base = base * float(self.values[n.spindle_override] or 100.0) / 100.0
        if n.load_before_speed:
            load = 30.0 + 45.0 * feed + 20.0 * wear + rng.gauss(0.0, 0.8)
            return base + rng.gauss(0.0, 15.0), load
        speed = base + rng.gauss(0.0, 15.0)
        return speed, 30.0 + 45.0 * feed + 20.0 * wear + rng.gauss(0.0, 0.8)


def reset_alarm(model: PlantModel, args: tuple[Scalar, ...]) -> Scalar:
    """Method handler: acknowledge and reset the line alarm."""
    assert isinstance(model, MachiningLineModel)
    model.alarm_latched = False
    model.alarm_reset_requested = True
    model.values[model.line.alarm_active] = False
    model.values[model.line.alarm_code] = 0
    return True


def request_maintenance(model: PlantModel, args: tuple[Scalar, ...]) -> Scalar:
    """Method handler: open a maintenance request with a note; returns the ticket id."""
    assert isinstance(model, MachiningLineModel)
    model.maintenance_requests.append(str(args[0]) if args else "")
    return f"{model.line.ticket_prefix}-{len(model.maintenance_requests):04d}"


def change_tool(model: PlantModel, args: tuple[Scalar, ...]) -> Scalar:
    """Method handler: replace the cutting tool (tool wear back to 0)."""
    assert isinstance(model, MachiningLineModel)
    model.values[model.line.wear] = 0.0
    return True
