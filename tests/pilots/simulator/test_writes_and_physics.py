"""Setpoint writes are checked by the server; accepted writes are logged once and drive the model."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from asyncua import Client, ua

from factorypilot.pilots.simulator import PlantSimulator


@pytest.fixture
async def sim() -> AsyncIterator[PlantSimulator]:
    async with PlantSimulator("mobility", seed=11, realtime=False) as s:
        await s.step(3)
        yield s


def _dv(value: float) -> ua.DataValue:
    return ua.DataValue(ua.Variant(value, ua.VariantType.Double))


async def test_write_outside_limits_is_rejected_by_the_server(sim: PlantSimulator) -> None:
    async with Client(sim.endpoint) as client:
        node = client.get_node(sim.node_id("feed_override"))
        for bad in (150.0, -1.0, 120.0001, float("nan")):
            with pytest.raises(ua.uaerrors.BadOutOfRange):
                await node.write_value(_dv(bad))
            assert await node.read_value() == 100.0
        vib = client.get_node(sim.node_id("spindle_vibration"))
        with pytest.raises(ua.uaerrors.BadUserAccessDenied):  # read-only signal
            await vib.write_value(_dv(0.0))
        with pytest.raises(ua.uaerrors.BadTypeMismatch):
            await node.write_value(ua.DataValue(ua.Variant("fast", ua.VariantType.String)))
    assert sim.value("feed_override") == 100.0
    assert sim.write_log == []


async def test_accepted_write_is_logged_exactly_once(sim: PlantSimulator) -> None:
    async with Client(sim.endpoint) as client:
        node = client.get_node(sim.node_id("feed_override"))
        await node.write_value(_dv(120.0))  # the limit itself is allowed
        await node.write_value(_dv(85.5))
        assert await node.read_value() == 85.5
    assert sim.write_log == [(3, "feed_override", 120.0), (3, "feed_override", 85.5)]
    assert sim.value("feed_override") == 85.5


async def test_lowering_feed_override_reduces_vibration_within_a_few_ticks(sim: PlantSimulator) -> None:
    await sim.step(10)
    before = sim.value("spindle_vibration")
    async with Client(sim.endpoint) as client:
        await client.get_node(sim.node_id("feed_override")).write_value(_dv(50.0))
    await sim.step(4)
    after = sim.value("spindle_vibration")
    assert isinstance(before, float)
    assert isinstance(after, float)
    assert after < before - 0.25
    assert sim.value("spindle_speed") < 4500.0  # type: ignore[operator]


async def test_counters_increase_with_parts_and_stay_consistent() -> None:
    sim = PlantSimulator(seed=11, realtime=False)  # no server needed: the engine steps on its own
    await sim.step(43)
    parts = sim.value("part_counter")
    assert isinstance(parts, int)
    assert parts >= 10
    assert sim.value("good_count") + sim.value("scrap_count") == parts  # type: ignore[operator]
    assert sim.value("stroke_count") == parts
    wear = sim.value("tool_wear")
    await sim.step(20)
    assert sim.value("tool_wear") > wear  # type: ignore[operator]


async def test_feed_zero_idles_the_machine() -> None:
    sim = PlantSimulator(seed=11, realtime=False)
    await sim.step(3)
    sim.engine.apply_write("feed_override", 0.0)  # what an accepted client write does
    parts = sim.value("part_counter")
    await sim.step(10)
    assert sim.value("machine_state") == "IDLE"
    assert sim.value("door_open") is True
    assert sim.value("part_counter") == parts
