from __future__ import annotations

import pytest

from factorypilot.connectors import InMemoryConnector
from factorypilot.testing import ConnectorContract, WriteCase
from factorypilot.vocabulary import DataType, Limits, Tag

TAGS = [
    Tag(id="cnc1.vibration", name="주축 진동", display_names={"ko": "주축 진동", "en": "Spindle vibration"},
        unit="mm/s", data_type=DataType.FLOAT),
    Tag(id="cnc1.feed_override", name="Feed override", unit="%", data_type=DataType.FLOAT, writable=True,
        limits=Limits(low=0, high=120)),
    Tag(id="cnc1.state", name="가동 상태", data_type=DataType.STRING),
]


class TestInMemoryConnector(ConnectorContract):
    @pytest.fixture
    def make_connector(self):  # type: ignore[no-untyped-def]
        return lambda: InMemoryConnector(InMemoryConnector.Config(
            tags=TAGS, values={"cnc1.vibration": 2.1, "cnc1.feed_override": 100.0, "cnc1.state": "RUN"}))

    @pytest.fixture
    def write_case(self) -> WriteCase:
        return WriteCase(tag_id="cnc1.feed_override", value=85.0)
