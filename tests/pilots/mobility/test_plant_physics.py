"""The mobility plant's physics on the testbed: accepted writes drive it, feed drives vibration and production."""

from __future__ import annotations

from asyncua import Client, ua

from factorypilot.pilots.simulator import Fault, FaultKind, PlantSimulator


async def test_lowering_feed_override_reduces_vibration_within_a_few_ticks() -> None:
    async with PlantSimulator("mobility", seed=11, realtime=False) as sim:
        await sim.step(13)
        before = sim.value("spindle_vibration")
        async with Client(sim.endpoint) as client:  # an accepted client write drives the model
            node = client.get_node(sim.node_id("feed_override"))
            await node.write_value(ua.DataValue(ua.Variant(50.0, ua.VariantType.Double)))
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


async def test_drift_is_mitigated_by_lowering_feed_override() -> None:
    sim = PlantSimulator(seed=2, realtime=False)
    sim.inject(Fault(FaultKind.DRIFT, "spindle_vibration", magnitude=0.15))
    await sim.step(40)
    high = sim.value("spindle_vibration")
    assert high > 6.0  # type: ignore[operator]
    sim.engine.apply_write("feed_override", 60.0)  # what an accepted client write does
    await sim.step(5)
    assert sim.value("spindle_vibration") < high - 2.0  # type: ignore[operator]
