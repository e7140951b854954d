"""The simulator's A&C conditions: retained while active or unacknowledged; acknowledging releases them."""

from __future__ import annotations

import asyncio
import contextlib

from factorypilot.connectors.opcua import OpcUaConnector
from factorypilot.pilots.simulator import Fault, FaultKind, PlantSimulator
from factorypilot.vocabulary import AlarmEvent


async def _refreshed(endpoint: str) -> list[AlarmEvent]:
    """What a fresh client sees through ConditionRefresh (waits briefly for anything beyond it)."""
    out: list[AlarmEvent] = []
    async with OpcUaConnector(OpcUaConnector.Config(endpoint=endpoint)) as c, \
            contextlib.aclosing(c.events()) as stream:
        with contextlib.suppress(TimeoutError):
            while True:
                item = await asyncio.wait_for(anext(stream), 1.5)
                if isinstance(item, AlarmEvent):
                    out.append(item)
    return out


async def test_unacknowledged_alarm_stays_retained_until_acknowledged() -> None:
    async with PlantSimulator("robotics", realtime=False) as sim:
        sim.inject(Fault(FaultKind.ALARM, magnitude=1203))
        await sim.step(1)
        sim.clear_faults()
        await sim.step(1)
        before = await _refreshed(sim.endpoint)
        cid = sim.node_id("fault_active") + ".Condition"
        assert [(e.condition_id, e.active, e.acked, e.refreshed) for e in before] == [(cid, False, False, True)]
        assert before[0].message == "로봇 충돌 감지 (코드 1203) / Robot collision detected (code 1203)"
        assert before[0].severity == 900
        assert await sim.alarms.acknowledge(cid) is True
        assert await sim.alarms.acknowledge(cid) is False  # already acknowledged
        assert await _refreshed(sim.endpoint) == []
