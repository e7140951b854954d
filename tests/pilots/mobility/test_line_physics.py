"""mobility and mobility-kr: one physics implementation behind two naming layers, each with its own draw order."""

from __future__ import annotations

import random

import pytest

from factorypilot.pilots.mobility._line import MachiningLineModel
from factorypilot.pilots.mobility.plant import MobilityModel
from factorypilot.pilots.mobility.plant_kr import MobilityKrModel


class _Recording(random.Random):
    """A seeded Random that records the sigma of every gauss draw and every uniform draw."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.draws: list[str | float] = []
        self._in_gauss = False

    def gauss(self, mu: float = 0.0, sigma: float = 1.0) -> float:
        self.draws.append(sigma)
        self._in_gauss = True  # gauss calls random() itself; record the model's own calls only
        try:
            return super().gauss(mu, sigma)
        finally:
            self._in_gauss = False

    def random(self) -> float:
        if not self._in_gauss:
            self.draws.append("u")
        return super().random()


def _first_tick_draws(cls: type[MachiningLineModel]) -> list[str | float]:
    model = cls()
    rng = _Recording(3)
    model.bind(rng)
    model.step(0, {})
    return rng.draws


@pytest.mark.parametrize("cls", [MobilityModel, MobilityKrModel])
def test_both_plants_run_the_one_shared_step(cls: type[MachiningLineModel]) -> None:
    assert issubclass(cls, MachiningLineModel)
    assert "step" not in vars(cls)
    assert "reset" not in vars(cls)
    cls.validate()
    declared = {s.role for s in cls.signals}
    line = cls.line
    named = {line.feed, line.wear, line.vibration, line.speed, line.load, line.temperature, line.state, line.door,
             line.alarm_active, line.alarm_code, line.parts, line.strokes, line.good, line.scrap, line.press_force}
    named |= {r for r in (line.spindle_override, line.alarm_setpoint) if r is not None}
    assert named <= declared


def test_each_plant_keeps_its_declared_draw_order() -> None:
    # mobility: vibration, speed, load, bearing temperature
    assert _first_tick_draws(MobilityModel) == [0.04, 15.0, 0.8, 0.05]
    # mobility-kr: vibration, load, speed, bearing temperature, then its extra tags (coolant, press vib, oil)
    assert _first_tick_draws(MobilityKrModel) == [0.04, 0.8, 15.0, 0.05, 0.05, 0.03, 0.1]


def test_a_part_draws_scrap_then_press_force_with_each_plants_press() -> None:
    for cls, force_role, mean in ((MobilityModel, "press_tonnage", 1200.0), (MobilityKrModel, "prs_ld", 900.0)):
        model = cls()
        rng = _Recording(5)
        model.bind(rng)
        for tick in range(4):  # one part per 4 ticks at 100 % feed
            model.step(tick, {})
        assert rng.draws[-2:] == ["u", cls.line.press_force_sigma]
        assert abs(float(model.values[force_role] or 0.0) - mean) < 6 * cls.line.press_force_sigma


def test_the_kr_alarm_limit_is_its_writable_setpoint() -> None:
    kr, mob = MobilityKrModel(), MobilityModel()
    kr.bind(random.Random(1))
    mob.bind(random.Random(1))
    kr.values["spdl_vib_sp"] = 1.0  # below the resting vibration (~2.1 mm/s): the kr line alarms at once
    kr.step(0, {})
    mob.step(0, {})
    assert (kr.values["alm_on"], kr.values["alm_no"], kr.values["op_sts"]) == (True, 2101, "ALARM")
    assert (mob.values["alarm_active"], mob.values["machine_state"]) == (False, "RUN")


def test_method_handlers_use_each_plants_names() -> None:
    for cls, ticket, active, code in ((MobilityModel, "MR-0001", "alarm_active", "alarm_code"),
                                      (MobilityKrModel, "정비-0001", "alm_on", "alm_no")):
        model = cls()
        model.bind(random.Random(0))
        handlers = {m.name: m.handler for m in cls.methods}
        maintenance = handlers.get("RequestMaintenance") or handlers["MaintReq"]
        assert maintenance(model, ("bearing noise",)) == ticket
        assert model.maintenance_requests == ["bearing noise"]
        model.values[active], model.values[code] = True, 2101
        (handlers.get("ResetAlarm") or handlers["AlmReset"])(model, ())
        assert (model.values[active], model.values[code], model.alarm_reset_requested) == (False, 0, True)
