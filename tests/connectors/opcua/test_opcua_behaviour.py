"""Browse, chunked reads, typed writes, methods, history, several endpoints, and the typed errors."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from _plant import OpcUaTestPlant, PlantOptions, free_port, running_test_plant

from factorypilot.connectors.opcua import OpcUaConnector
from factorypilot.connectors.registry import create
from factorypilot.errors import (
    CapabilityError,
    ConfigError,
    ConnectionError_,
    ConnectorTimeout,
    DataError,
    NodeNotFoundError,
)
from factorypilot.testing import permit_for_tests
from factorypilot.vocabulary import ActionKind, ActionRequest, DataType, Limits, Sample


@pytest.fixture
async def conn(plant: OpcUaTestPlant) -> AsyncIterator[OpcUaConnector]:
    async with OpcUaConnector(OpcUaConnector.Config(endpoint=plant.endpoint, read_chunk_size=7)) as c:
        yield c


async def write(c: OpcUaConnector, tag_id: str, value: object) -> None:
    req = ActionRequest(kind=ActionKind.WRITE, target=tag_id, value=value)  # type: ignore[arg-type]
    await c.write(req, permit_for_tests(req))


async def test_registered_as_entry_point(plant: OpcUaTestPlant) -> None:
    c = create("opcua", {"endpoint": plant.endpoint})
    assert isinstance(c, OpcUaConnector)
    with pytest.raises(ConfigError, match="unknown key 'endpiont'"):
        create("opcua", {"endpiont": plant.endpoint})


async def test_browse_maps_korean_names_units_limits_asset_path(conn: OpcUaConnector,
                                                                plant: OpcUaTestPlant) -> None:
    tags = {t.id: t for t in await conn.browse()}
    speed = tags[plant.node_id("SpindleSpeed")]
    assert speed.name == "SpindleSpeed"
    assert speed.display_names == {"ko": "주축 속도", "en": "Spindle speed"}
    assert speed.label("ko") == "주축 속도"
    assert speed.unit == "rpm"
    assert speed.limits == Limits(low=0, high=12000)
    assert speed.data_type is DataType.FLOAT
    assert speed.writable
    assert str(speed.asset) == "대구정밀/대구공장/가공동/1라인/CNC1"
    vib = tags[plant.node_id("Vibration")]
    assert not vib.writable
    assert vib.unit == "mm/s"
    assert tags[plant.node_id("Running")].data_type is DataType.BOOLEAN
    assert tags[plant.node_id("PartCount")].data_type is DataType.INTEGER
    assert tags[plant.node_id("Program")].data_type is DataType.STRING
    assert str(tags[plant.node_id("Bulk.B0003")].asset) == "대구정밀/대구공장/가공동/1라인/CNC1/Bulk"
    assert not any(t.id.startswith("i=") or t.id.startswith("ns=0;") for t in tags.values()), "Server node leaked"
    assert len(tags) == 6 + 30


async def test_namespace_filter(plant: OpcUaTestPlant) -> None:
    async with OpcUaConnector(OpcUaConnector.Config(endpoint=plant.endpoint, namespace="urn:factorypilot:test")) as c:
        assert len(await c.browse()) == 36
    async with OpcUaConnector(OpcUaConnector.Config(endpoint=plant.endpoint, namespace=3)) as c:
        assert await c.browse() == []
    async with OpcUaConnector(OpcUaConnector.Config(endpoint=plant.endpoint, namespace="urn:nope")) as c:
        with pytest.raises(ConfigError, match="urn:nope"):
            await c.browse()


async def test_chunked_read_keeps_order_beyond_chunk_size(conn: OpcUaConnector, plant: OpcUaTestPlant) -> None:
    ids = [plant.node_id(f"Bulk.B{i:04d}") for i in reversed(range(30))]  # 30 ids, chunks of 7
    samples = await conn.read(ids)
    assert [s.tag_id for s in samples] == ids
    assert [s.value for s in samples] == [float(i) for i in reversed(range(30))]
    assert all(s.source_time is not None and s.server_time is not None for s in samples)


async def test_unknown_and_malformed_node_ids(conn: OpcUaConnector, plant: OpcUaTestPlant) -> None:
    with pytest.raises(NodeNotFoundError, match=r"ns=2;s=CNC1\.Nope.*BadNodeIdUnknown"):
        await conn.read([plant.node_id("Bulk.B0001"), "ns=2;s=CNC1.Nope"])
    with pytest.raises(NodeNotFoundError, match="not a valid OPC UA node id"):
        await conn.read(["this is not a node id"])


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("SpindleSpeed", 2000, 2000.0),      # int to Double
    ("SpindleSpeed", "2500.5", 2500.5),  # text to Double
    ("Running", "0", False),             # "0" to Boolean
    ("Running", "on", True),
    ("Running", 1, True),
    ("PartCount", 42.0, 42),             # whole float to Int32
    ("PartCount", "7", 7),
    ("Program", 1234, "1234"),           # anything to String
])
async def test_write_coerces_to_the_node_data_type(conn: OpcUaConnector, plant: OpcUaTestPlant, name: str,
                                                   value: object, expected: object) -> None:
    await write(conn, plant.node_id(name), value)
    got = (await conn.read([plant.node_id(name)]))[0].value
    assert got == expected
    assert type(got) is type(expected)


@pytest.mark.parametrize(("name", "value", "match"), [
    ("PartCount", 1.5, "not a whole number"),
    ("PartCount", 2**40, "outside the Int32 range"),
    ("Running", "maybe", "not a boolean"),
    ("SpindleSpeed", "fast", "could not convert"),
])
async def test_write_rejects_values_that_do_not_convert(conn: OpcUaConnector, plant: OpcUaTestPlant, name: str,
                                                        value: object, match: str) -> None:
    with pytest.raises(DataError, match=match) as info:
        await write(conn, plant.node_id(name), value)
    assert plant.node_id(name) in str(info.value)


async def test_write_outside_eurange_and_to_read_only_node(conn: OpcUaConnector, plant: OpcUaTestPlant) -> None:
    await conn.browse()  # learns EURange
    with pytest.raises(DataError, match="outside the device range"):
        await write(conn, plant.node_id("FeedOverride"), 500)
    from factorypilot.errors import SafetyViolation

    with pytest.raises(SafetyViolation, match=r"CNC1\.Vibration.*BadNotWritable|BadUserAccessDenied"):
        await write(conn, plant.node_id("Vibration"), 1.0)


async def test_method_call_coerces_arguments(conn: OpcUaConnector, plant: OpcUaTestPlant) -> None:
    req = ActionRequest(kind=ActionKind.METHOD, target=plant.node_id("Reset"), args=("1",))
    assert await conn.call(req, permit_for_tests(req)) == [True]
    req = ActionRequest(kind=ActionKind.METHOD, target=plant.node_id("Reset"), args=(2,),
                        object_id="ns=2;s=CNC1.Asset4")
    assert await conn.call(req, permit_for_tests(req)) == [False]


async def test_history_of_historized_node_and_clear_error_otherwise(conn: OpcUaConnector,
                                                                    plant: OpcUaTestPlant) -> None:
    end = datetime.now(UTC) + timedelta(seconds=1)
    samples = await conn.history([plant.node_id("Vibration")], end - timedelta(hours=1), end)
    assert len(samples) >= 5
    assert all(isinstance(s, Sample) and s.tag_id == plant.node_id("Vibration") for s in samples)
    with pytest.raises(CapabilityError, match=r"CNC1\.SpindleSpeed keeps no history"):
        await conn.history([plant.node_id("SpindleSpeed")], end - timedelta(hours=1), end)


async def test_health_reports_server_state(conn: OpcUaConnector, plant: OpcUaTestPlant) -> None:
    health = await conn.health()
    assert health.ok
    assert "Running" in health.detail
    assert health.endpoint == plant.endpoint


@pytest.fixture(scope="module")
def second_plant() -> Iterator[OpcUaTestPlant]:
    with running_test_plant(PlantOptions(machine="CNC2")) as p:
        yield p


async def test_several_endpoints_fan_out(plant: OpcUaTestPlant, second_plant: OpcUaTestPlant) -> None:
    cfg = OpcUaConnector.Config(endpoints=[plant.endpoint, second_plant.endpoint], session_tag_budget=1)
    async with OpcUaConnector(cfg) as c:
        tags = await c.browse()
        assert {plant.node_id("Vibration"), second_plant.node_id("Vibration")} <= {t.id for t in tags}
        ids = [second_plant.node_id("Program"), plant.node_id("Program"), second_plant.node_id("Running")]
        assert [s.tag_id for s in await c.read(ids)] == ids
        fresh = OpcUaConnector(cfg)  # an unbrowsed connector locates nodes by asking every endpoint
        async with fresh:
            assert (await fresh.read([second_plant.node_id("PartCount")]))[0].value == 0
            with pytest.raises(NodeNotFoundError):
                await fresh.read(["ns=2;s=CNC9.Nope"])
        # budget 1 tag per session: three shards, two extra sessions, all initial values arrive
        seen: set[str] = set()
        async with contextlib.aclosing(c.subscribe(ids, period=0.05)) as stream:
            async for item in stream:
                if isinstance(item, Sample):
                    seen.add(item.tag_id)
                if seen == set(ids):
                    break
        assert (await c.health()).ok


async def test_unreachable_endpoint_names_it_and_suggests_browse() -> None:
    url = f"opc.tcp://127.0.0.1:{free_port()}/nothing-here"
    with pytest.raises(ConnectionError_) as info:
        async with OpcUaConnector(OpcUaConnector.Config(endpoint=url, timeout_s=2)):
            pass
    assert not isinstance(info.value, ConnectorTimeout)
    assert url in str(info.value)
    assert "factorypilot connect browse" in str(info.value)


async def test_silent_server_is_a_timeout() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:
        with pytest.raises(ConnectorTimeout, match="did not answer in time") as info:
            async with OpcUaConnector(OpcUaConnector.Config(endpoint=f"opc.tcp://127.0.0.1:{port}", timeout_s=0.5)):
                pass
        assert f"127.0.0.1:{port}" in str(info.value)
    finally:
        listener.close()
        await asyncio.sleep(0)
