"""OPC UA Alarms & Conditions against the plant simulator's real OffNormalAlarmType conditions."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from factorypilot.connectors import EventFilter
from factorypilot.connectors.opcua import OpcUaConnector
from factorypilot.pilots.simulator import Fault, FaultKind, running_plant
from factorypilot.vocabulary import AlarmEvent, Gap


@pytest.fixture
def sim() -> Iterator[Any]:
    with running_plant(model="mobility", port=0, realtime=False) as handle:
        yield handle


def _cfg(endpoint: str) -> OpcUaConnector.Config:
    return OpcUaConnector.Config(endpoint=endpoint, timeout_s=2, watchdog_interval_s=0.2, reconnect_max_delay_s=1.0)


async def _next_alarm(stream: Any) -> AlarmEvent | Gap:
    item: AlarmEvent | Gap = await asyncio.wait_for(anext(stream), 20)
    return item


def _raise(sim: Any, code: int = 2101) -> None:
    sim.inject(Fault(FaultKind.ALARM, magnitude=code))
    sim.step(1)


def _clear(sim: Any) -> None:
    sim.clear_faults()
    sim.step(1)


async def test_pre_existing_alarm_then_new_state_and_return_to_normal(sim: Any) -> None:
    _raise(sim)  # active before we connect
    async with OpcUaConnector(_cfg(sim.endpoint)) as c, contextlib.aclosing(c.events()) as stream:
        first = await _next_alarm(stream)
        assert isinstance(first, AlarmEvent)
        assert first.refreshed
        assert first.active
        assert not first.acked
        assert first.retain
        assert first.event_type == "OffNormalAlarmType"
        assert first.message == "주축 진동 과다 (코드 2101) / Spindle vibration too high (code 2101)"
        assert first.message_locale == "ko-KR"
        assert first.severity == 700
        assert first.source_node == sim.node_id("alarm_active")
        assert first.condition_id == sim.node_id("alarm_active") + ".Condition"
        assert first.event_id
        await asyncio.to_thread(_clear, sim)
        back = await _next_alarm(stream)
        assert isinstance(back, AlarmEvent)
        assert back.condition_id == first.condition_id
        assert not back.active
        assert not back.refreshed
        assert back.time > first.time
        # a new alarm with another code on the same condition: a new active state with its own text
        await asyncio.to_thread(_raise, sim, 2101)
        again = await _next_alarm(stream)
        assert isinstance(again, AlarmEvent)
        assert again.active
        assert not again.refreshed
        await asyncio.to_thread(_clear, sim)


async def test_reconnect_during_an_active_alarm_gives_a_gap_and_no_duplicate(sim: Any) -> None:
    async with OpcUaConnector(_cfg(sim.endpoint)) as c, contextlib.aclosing(c.events()) as stream:
        await asyncio.to_thread(_raise, sim)
        on = await _next_alarm(stream)
        assert isinstance(on, AlarmEvent)
        assert on.active
        await asyncio.to_thread(sim.stop)
        await asyncio.to_thread(sim.start)  # a fresh server; the active condition is re-registered
        gap = await _next_alarm(stream)
        assert isinstance(gap, Gap)
        assert gap.end is not None
        assert gap.start < gap.end
        assert sim.endpoint in gap.reason
        # the refresh after the reconnect re-sends the same state: dropped; the next thing is the real change
        await asyncio.to_thread(_clear, sim)
        nxt = await _next_alarm(stream)
        assert isinstance(nxt, AlarmEvent), nxt
        assert nxt.condition_id == on.condition_id
        assert not nxt.active


async def test_filter_and_unknown_source(sim: Any) -> None:
    _raise(sim)
    try:
        async with OpcUaConnector(_cfg(sim.endpoint)) as c:
            flt = EventFilter(min_severity=800)
            async with contextlib.aclosing(c.events(filter=flt)) as stream:
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(anext(stream), 1.0)  # severity 700 is below the filter
    finally:
        _clear(sim)


def test_cli_alarms_lists_the_active_alarm_with_korean_text(sim: Any) -> None:
    import subprocess
    import sys
    from pathlib import Path

    _raise(sim)
    try:
        exe = Path(sys.executable).parent / "factorypilot"
        done = subprocess.run([str(exe), "connect", "alarms", sim.endpoint, "--refresh", "--seconds", "3"],
                              capture_output=True, text=True, timeout=120, check=False,
                              env={"COLUMNS": "250", "PATH": ""})
    finally:
        _clear(sim)
    assert done.returncode == 0, done.stderr
    lines = [ln for ln in done.stdout.splitlines() if "sev" in ln]
    assert len(lines) == 1, done.stdout
    assert "주축 진동 과다 (코드 2101)" in lines[0]
    assert "ACTIVE" in lines[0]
    assert "refreshed" in lines[0]
    assert "sev  700" in lines[0]
