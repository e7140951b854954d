"""A raw asyncua client sees the ISA-95 hierarchy, Korean display names, English descriptions and units."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from asyncua import Client, ua

from factorypilot.pilots.simulator import PlantSimulator


@pytest.fixture
async def sim() -> AsyncIterator[PlantSimulator]:
    async with PlantSimulator("mobility", seed=3, realtime=False) as s:
        await s.step(5)
        yield s


async def test_node_ids_are_stable_and_readable(sim: PlantSimulator) -> None:
    assert sim.node_id("spindle_vibration") == "ns=2;s=mobility.line-01.cnc-01.spindle_vibration"
    assert sim.node_id("part_counter") == "ns=2;s=mobility.line-01.part_counter"
    assert sim.roles()["press_tonnage"] == "ns=2;s=mobility.line-01.press-01.press_tonnage"
    assert sim.endpoint.startswith("opc.tcp://127.0.0.1:")
    assert not sim.endpoint.startswith("opc.tcp://127.0.0.1:0/")


async def test_korean_display_name_english_description_and_units(sim: PlantSimulator) -> None:
    async with Client(sim.endpoint) as client:
        node = client.get_node(sim.node_id("spindle_vibration"))
        assert await node.read_display_name() == ua.LocalizedText("주축 진동", "ko-KR")
        assert await node.read_description() == ua.LocalizedText("Spindle vibration velocity (RMS)", "en-US")
        assert (await node.read_browse_name()).Name == "SpindleVibration"
        eu = await (await node.get_child("0:EngineeringUnits")).read_value()
        assert eu.DisplayName.Text == "mm/s"
        assert eu.NamespaceUri == "http://www.opcfoundation.org/UA/units/un/cefact"
        assert eu.UnitId == (ord("C") << 16) | (ord("1") << 8) | ord("6")
        rng = await (await node.get_child("0:EURange")).read_value()
        assert (rng.Low, rng.High) == (0.0, 50.0)
        assert await node.read_value() == sim.value("spindle_vibration")
        assert await node.read_data_type() == ua.NodeId(ua.ObjectIds.Double)
        temp = client.get_node(sim.node_id("spindle_temperature"))
        assert (await (await temp.get_child("0:EngineeringUnits")).read_value()).DisplayName.Text == "°C"
        stroke = client.get_node(sim.node_id("stroke_count"))
        assert await stroke.read_data_type() == ua.NodeId(ua.ObjectIds.Int32)
        state = client.get_node(sim.node_id("machine_state"))
        assert await state.read_value() == "RUN"


async def test_isa95_hierarchy_browses_from_objects(sim: PlantSimulator) -> None:
    async with Client(sim.endpoint) as client:
        path = ["0:Objects", "2:DaeguMobility", "2:DaeguPlant", "2:Machining", "2:Line01", "2:CNC01",
                "2:FeedOverride"]
        node = await client.nodes.root.get_child(path)
        assert node.nodeid.to_string() == sim.node_id("feed_override")
        line = await client.nodes.root.get_child(path[:5])
        assert (await line.read_display_name()).Text == "가공라인 1"
        children = {(await c.read_browse_name()).Name for c in await line.get_children()}
        assert {"CNC01", "Press01", "PartCounter", "GoodCount", "ScrapCount", "ResetAlarm"} <= children
        access = await node.read_attribute(ua.AttributeIds.AccessLevel)
        assert access.Value.Value & ua.AccessLevel.CurrentWrite.mask


async def test_methods_request_maintenance_with_korean_note_and_reset_alarm(sim: PlantSimulator) -> None:
    async with Client(sim.endpoint) as client:
        cnc = client.get_node("ns=2;s=mobility.line-01.cnc-01")
        ticket = await cnc.call_method("2:RequestMaintenance", "주축 베어링 점검 요청")
        assert ticket == "MR-0001"
        line = client.get_node("ns=2;s=mobility.line-01")
        assert await line.call_method("2:ResetAlarm") is True
    assert sim.models[0].maintenance_requests == ["주축 베어링 점검 요청"]  # type: ignore[attr-defined]
    assert [name for _, name, _ in sim.method_log] == ["RequestMaintenance", "ResetAlarm"]


async def test_scale_replicates_lines_with_prefixed_roles() -> None:
    async with PlantSimulator(seed=1, realtime=False, scale=3) as sim:
        roles = sim.roles()
        assert len(roles) == 45
        assert roles["line03_spindle_vibration"] == "ns=2;s=mobility.line-03.cnc-01.spindle_vibration"
        await sim.step(8)
        async with Client(sim.endpoint) as client:
            values = await client.read_values([client.get_node(n) for n in roles.values()])
        assert values == [sim.value(r) for r in roles]
        # each line has its own random stream
        assert sim.value("spindle_speed") != sim.value("line02_spindle_speed")
