"""The connector contract suite against a real asyncua server (and the plant simulator when present)."""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _plant import OpcUaTestPlant

from factorypilot.connectors.opcua import OpcUaConnector
from factorypilot.testing import AlarmCase, ConnectorContract, WriteCase


class TestOpcUaConnector(ConnectorContract):
    @pytest.fixture
    def make_connector(self, plant: OpcUaTestPlant) -> Callable[[], OpcUaConnector]:
        return lambda: OpcUaConnector(OpcUaConnector.Config(endpoint=plant.endpoint, timeout_s=5))

    @pytest.fixture
    def write_case(self, plant: OpcUaTestPlant) -> WriteCase:
        plant.set_value("FeedOverride", 100.0)  # each test starts from 100 %, so 85 % is always a change
        return WriteCase(tag_id=plant.node_id("FeedOverride"), value=85.0)


_HAS_SIMULATOR = importlib.util.find_spec("factorypilot.pilots.simulator") is not None


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    from factorypilot.pilots.simulator import running_plant

    with running_plant(model="mobility", port=0, realtime=False) as handle:
        yield handle


@pytest.mark.skipif(not _HAS_SIMULATOR, reason="the plant simulator (factorypilot.pilots.simulator) is not built yet")
class TestOpcUaConnectorOnSimulator(ConnectorContract):
    @pytest.fixture
    def make_connector(self, sim: Any) -> Callable[[], OpcUaConnector]:
        return lambda: OpcUaConnector(OpcUaConnector.Config(endpoint=sim.endpoint, timeout_s=5))

    _values = itertools.count(80)

    @pytest.fixture
    def write_case(self, sim: Any) -> WriteCase:
        # the simulator has no setter: every test gets a value no earlier test wrote
        return WriteCase(tag_id=sim.node_id("feed_override"), value=float(next(self._values)))

    @pytest.fixture
    def alarm_case(self, sim: Any) -> AlarmCase:
        from factorypilot.pilots.simulator import Fault, FaultKind

        def raise_alarm(_: object) -> None:
            sim.inject(Fault(FaultKind.ALARM, magnitude=2101))
            sim.step(1)

        def clear_alarm(_: object) -> None:
            sim.clear_faults()
            sim.step(1)

        return AlarmCase(raise_alarm=raise_alarm, clear_alarm=clear_alarm, message_contains="주축 진동")
