"""Setpoint writes are checked by the server (limits, access, type); accepted writes are logged once."""

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
