from __future__ import annotations

import asyncio
import contextlib

import pytest

from factorypilot.connectors import EventFilter, InMemoryConnector
from factorypilot.testing import AlarmCase, ConnectorContract, WriteCase
from factorypilot.vocabulary import AlarmEvent, DataType, Gap, Limits, Tag

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


def _alarm(active: bool) -> AlarmEvent:
    return AlarmEvent(condition_id="cnc1.vib-alarm", source_node="cnc1.vibration", source_name="CNC1",
                      event_type="OffNormalAlarmType", message="주축 진동 경보 / Spindle vibration alarm",
                      message_locale="ko-KR", severity=700, active=active, acked=not active, retain=active)


def _as_memory(c: object) -> InMemoryConnector:
    assert isinstance(c, InMemoryConnector)
    return c


class TestInMemoryAlarms(TestInMemoryConnector):
    @pytest.fixture
    def alarm_case(self) -> AlarmCase:
        return AlarmCase(raise_alarm=lambda c: _as_memory(c).raise_alarm(_alarm(True)),
                         clear_alarm=lambda c: _as_memory(c).raise_alarm(_alarm(False)),
                         message_contains="주축 진동")


def test_outage_gives_a_gap_and_the_active_alarm_is_not_delivered_twice() -> None:
    async def go() -> list[object]:
        c = InMemoryConnector(InMemoryConnector.Config(tags=TAGS))
        c.raise_alarm(_alarm(True))
        got: list[object] = []
        async with c, contextlib.aclosing(c.events()) as stream:
            got.append(await anext(stream))
            with c.outage():
                pass
            got.append(await anext(stream))          # the gap
            c.raise_alarm(_alarm(False))              # the refresh copy after the gap was dropped
            got.append(await anext(stream))
        return got

    first, gap, cleared = asyncio.run(asyncio.wait_for(go(), 10))
    assert isinstance(first, AlarmEvent)
    assert first.refreshed
    assert first.active
    assert isinstance(gap, Gap)
    assert isinstance(cleared, AlarmEvent)
    assert not cleared.active
    assert not cleared.refreshed
    assert cleared.message.startswith("주축 진동")


def test_event_filter_by_severity_and_type() -> None:
    async def go() -> list[AlarmEvent | Gap]:
        c = InMemoryConnector(InMemoryConnector.Config(tags=TAGS))
        c.raise_alarm(_alarm(True))
        c.raise_alarm(_alarm(True).model_copy(update={"condition_id": "low", "severity": 100}))
        async with c, contextlib.aclosing(c.events(filter=EventFilter(min_severity=500))) as stream:
            first = await anext(stream)  # the refresh: only the severity-700 alarm
            c.raise_alarm(_alarm(True).model_copy(update={"condition_id": "other-type", "event_type": "X"}))
            c.raise_alarm(_alarm(False))
            return [first, await anext(stream), await anext(stream)]

    items = asyncio.run(asyncio.wait_for(go(), 10))
    assert [(i.condition_id, i.active) for i in items if isinstance(i, AlarmEvent)] == [
        ("cnc1.vib-alarm", True), ("other-type", True), ("cnc1.vib-alarm", False)]

    async def typed() -> AlarmEvent | Gap:
        c = InMemoryConnector(InMemoryConnector.Config(tags=TAGS))
        c.raise_alarm(_alarm(True).model_copy(update={"event_type": "X"}))
        c.raise_alarm(_alarm(True).model_copy(update={"condition_id": "b"}))
        async with c, contextlib.aclosing(c.events(filter=EventFilter(event_types=("OffNormalAlarmType",)))) as s:
            return await anext(s)

    only = asyncio.run(asyncio.wait_for(typed(), 10))
    assert isinstance(only, AlarmEvent)
    assert only.condition_id == "b"
