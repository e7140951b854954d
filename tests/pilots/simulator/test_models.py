"""Sector models plug in without touching the core: registry, entry points and a custom model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import pytest
from asyncua import Client, ua

from factorypilot.errors import ConfigError
from factorypilot.pilots.mobility.plant import MobilityModel
from factorypilot.pilots.simulator import (
    Asset,
    Fault,
    FaultKind,
    Hierarchy,
    PlantModel,
    PlantSimulator,
    Signal,
    available_models,
)
from factorypilot.vocabulary import DataType, Limits


class CleanroomModel(PlantModel):
    """A tiny healthcare-style model defined outside the simulator package."""

    name: ClassVar[str] = "cleanroom-test"
    hierarchy: ClassVar[Hierarchy] = Hierarchy(
        Asset("meditech", "MediTech", "메디텍"), Asset("gumi", "Gumi", "구미공장"),
        Asset("cleanroom", "Cleanroom", "클린룸"), Asset("room", "Room", "클린룸"))
    equipment: ClassVar[tuple[Asset, ...]] = (Asset("hvac-01", "Hvac01", "공조기 1호기"),)
    signals: ClassVar[tuple[Signal, ...]] = (
        Signal("differential_pressure", "hvac-01", "DifferentialPressure", "차압", "Room differential pressure",
               DataType.FLOAT, "Pa", "PAL", (0.0, 50.0), initial=15.0, historize=True),
        Signal("fan_setpoint", "hvac-01", "FanSetpoint", "팬 설정", "Fan speed setpoint", DataType.FLOAT, "%", "P1",
               (0.0, 100.0), writable=True, limits=Limits(low=20.0, high=90.0), initial=60.0),
    )

    def step(self, tick: int, disturbance: Mapping[str, float]) -> None:
        fan = float(self.values["fan_setpoint"] or 0.0)
        self.values["differential_pressure"] = round(fan / 4.0 + self.rng.gauss(0.0, 0.1), 3)


def test_available_models_come_from_the_sector_pilot_entry_points() -> None:
    models = available_models()
    assert models["mobility"] is MobilityModel
    assert set(models) == {"abb", "healthcare", "mobility", "mobility-kr", "robotics"}
    assert {cls.__module__ for cls in models.values()} == {
        "factorypilot.pilots.abb.plant", "factorypilot.pilots.healthcare.plant", "factorypilot.pilots.mobility.plant",
        "factorypilot.pilots.mobility.plant_kr", "factorypilot.pilots.robotics.plant"}


async def test_a_custom_sector_model_runs_with_limits_and_faults() -> None:
    async with PlantSimulator(CleanroomModel, seed=1, realtime=False) as sim:
        assert sim.node_id("fan_setpoint") == "ns=2;s=cleanroom-test.room-01.hvac-01.fan_setpoint"
        sim.inject(Fault(FaultKind.SPIKE, "differential_pressure", start_tick=2, magnitude=10.0))
        await sim.step(3)
        async with Client(sim.endpoint) as client:
            fan = client.get_node(sim.node_id("fan_setpoint"))
            with pytest.raises(ua.uaerrors.BadOutOfRange):
                await fan.write_value(ua.DataValue(ua.Variant(95.0, ua.VariantType.Double)))
            await fan.write_value(ua.DataValue(ua.Variant(40.0, ua.VariantType.Double)))
            name = await client.get_node(sim.node_id("differential_pressure")).read_display_name()
        assert name.Text == "차압"
        await sim.step(1)
        assert sim.value("differential_pressure") == pytest.approx(10.0, abs=0.5)


def test_bad_declarations_fail_early() -> None:
    with pytest.raises(ConfigError, match="snake_case"):
        Signal("Bad-Role", None, "Bad", "나쁨", "bad")
    with pytest.raises(ConfigError, match="needs limits"):
        Signal("sp", None, "Sp", "설정", "setpoint", DataType.FLOAT, writable=True)
    with pytest.raises(ConfigError, match="unknown simulator model"):
        PlantSimulator("no-such-model")
    with pytest.raises(ConfigError, match="secure=True"):
        PlantSimulator(secure=True)
    with pytest.raises(ConfigError, match="anonymous"):
        PlantSimulator(allow_anonymous=False)
