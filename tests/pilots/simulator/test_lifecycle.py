"""Stop/start on the same port, comms drops, history, realtime ticking and the background-thread runner."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from asyncua import Client, ua

from factorypilot.pilots.simulator import Fault, FaultKind, PlantSimulator, running_plant


async def test_stop_and_start_keep_the_port_and_the_plant_state() -> None:
    async with PlantSimulator(seed=2, realtime=False) as sim:
        await sim.step(10)
        endpoint, parts = sim.endpoint, sim.value("part_counter")
        await sim.stop()
        assert not sim.running
        await sim.step(4)  # the plant keeps running while its server is down
        await sim.start()
        assert sim.endpoint == endpoint
        async with Client(endpoint) as client:
            value = await client.get_node(sim.node_id("part_counter")).read_value()
        assert value == sim.value("part_counter")
        assert value > parts  # type: ignore[operator]


async def test_comms_drop_stops_serving_then_restarts_on_the_same_port() -> None:
    async with PlantSimulator(seed=2, realtime=False) as sim:
        endpoint = sim.endpoint
        sim.inject(Fault(FaultKind.COMMS_DROP, start_tick=3, duration_ticks=4))
        await sim.step(3)
        assert sim.running
        await sim.step(1)
        assert not sim.running
        client = Client(endpoint, timeout=2)
        try:
            await client.connect()
        except (TimeoutError, OSError, ua.UaError):
            refused = True
        else:
            refused = False
            await client.disconnect()
        assert refused
        await sim.step(4)
        assert sim.running
        assert sim.endpoint == endpoint
        async with Client(endpoint) as client:
            assert await client.get_node(sim.node_id("tool_wear")).read_value() == sim.value("tool_wear")


async def test_history_read_returns_the_published_values() -> None:
    async with PlantSimulator(seed=4, realtime=False) as sim:
        seen = [sim.value("spindle_vibration")]
        for _ in range(6):
            await sim.step()
            seen.append(sim.value("spindle_vibration"))
        async with Client(sim.endpoint) as client:
            node = client.get_node(sim.node_id("spindle_vibration"))
            now = datetime.now(UTC)
            history = await node.read_raw_history(now - timedelta(hours=1), now + timedelta(minutes=1))
            assert (await node.read_attribute(ua.AttributeIds.Historizing)).Value.Value is True
    values = [dv.Value.Value for dv in history]
    deduped = [v for i, v in enumerate(seen) if i == 0 or v != seen[i - 1]]
    assert values == deduped
    assert len(values) >= 5


async def test_realtime_mode_ticks_by_itself() -> None:
    async with PlantSimulator(seed=1, tick_seconds=0.01) as sim:
        for _ in range(500):  # bounded wait for the ticker, no timing assertion
            if sim.tick_index >= 3:
                break
            await asyncio.sleep(0.01)
        assert sim.tick_index >= 3


def test_running_plant_in_a_background_thread() -> None:
    async def read_and_write(endpoint: str, feed: str, vib: str) -> tuple[object, object]:
        async with Client(endpoint) as client:
            await client.get_node(feed).write_value(ua.DataValue(ua.Variant(90.0, ua.VariantType.Double)))
            return await client.get_node(feed).read_value(), await client.get_node(vib).read_value()

    with running_plant(model="mobility", seed=3, realtime=False) as plant:
        plant.step(5)
        assert plant.tick_index == 5
        roles = plant.roles()
        feed, vib = plant.node_id("feed_override"), roles["spindle_vibration"]
        written, vibration = asyncio.run(read_and_write(plant.endpoint, feed, vib))
        assert written == 90.0
        assert vibration == plant.value("spindle_vibration")
        assert plant.write_log == [(5, "feed_override", 90.0)]
        plant.inject(Fault(FaultKind.STUCK, "spindle_speed"))
        plant.stop()
        plant.start()
        plant.step(2)
        endpoint = plant.endpoint
        value = asyncio.run(read_and_write(endpoint, feed, vib))[0]
        assert value == 90.0
        assert plant.write_log == [(5, "feed_override", 90.0), (7, "feed_override", 90.0)]
