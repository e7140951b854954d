"""Stop the server mid-subscription, restart it on the same port: a Gap covers the outage, samples resume."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from _plant import PlantOptions, running_test_plant

from factorypilot.connectors.opcua import OpcUaConnector
from factorypilot.vocabulary import Gap, Sample, utcnow


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_outage_becomes_a_gap_then_samples_resume() -> None:
    # our connector's logger, collected directly (in-process CLI tests may have stopped it propagating to root)
    ours_logger = logging.getLogger("factorypilot.connectors.opcua")
    collect, level = _Collect(), ours_logger.level
    ours_logger.addHandler(collect)
    ours_logger.setLevel(logging.DEBUG)
    try:
        await _outage(collect)
    finally:
        ours_logger.removeHandler(collect)
        ours_logger.setLevel(level)


async def _outage(collect: _Collect) -> None:
    with running_test_plant(PlantOptions()) as plant:
        speed, vib = plant.node_id("SpindleSpeed"), plant.node_id("Vibration")
        cfg = OpcUaConnector.Config(endpoint=plant.endpoint, timeout_s=2, watchdog_interval_s=0.2,
                                    reconnect_max_delay_s=1.0)
        async with OpcUaConnector(cfg) as c:
            items: list[Sample | Gap] = []
            async with contextlib.aclosing(c.subscribe([speed, vib], period=0.05)) as stream:
                async for item in stream:  # the initial values
                    items.append(item)
                    if {s.tag_id for s in items if isinstance(s, Sample)} == {speed, vib}:
                        break
                collect.records.clear()
                await asyncio.to_thread(plant.stop)
                down = utcnow()  # the server is gone from here ...
                stopped_at = len(items)
                up = utcnow()  # ... to at least here (start() begins after this)
                await asyncio.to_thread(plant.start)  # same port, fresh server (initial SpindleSpeed 1500)
                await asyncio.to_thread(plant.set_value, "SpindleSpeed", 4321.0)
                async for item in stream:
                    items.append(item)
                    if isinstance(item, Sample) and item.value == 4321.0:
                        break
            outage_log = list(collect.records)
        after = items[stopped_at:]
        # reconnect noise: one INFO line of ours for the whole outage, no traceback above DEBUG; asyncua's own
        # records come through the bridge at DEBUG (the service's whole output: tests/e2e/test_service_faults.py)
        ours = outage_log
        loud = [r for r in ours if r.levelno >= logging.INFO]
        assert [r.getMessage().split(";")[0] for r in loud] == [f"lost {plant.endpoint}"], loud
        assert loud[0].levelno == logging.INFO
        assert not [r for r in ours if r.levelno > logging.DEBUG and r.exc_info]
        assert any("asyncua" in r.getMessage() for r in outage_log if r.levelno == logging.DEBUG), \
            "asyncua's reconnect attempts are kept at DEBUG"
        assert any(r.getMessage().startswith("restored ") for r in outage_log if r.levelno == logging.DEBUG)
        gaps = [i for i in after if isinstance(i, Gap)]
        assert len(gaps) == 1, after
        gap = gaps[0]
        assert gap.connector == "opcua"
        assert set(gap.tag_ids) == {speed, vib}
        assert gap.end is not None
        assert gap.start < gap.end
        assert gap.start <= down, "the gap starts at the last good contact, before the server went away"
        assert gap.end >= up, "the gap ends only once the server is back"
        assert plant.endpoint in gap.reason
        # the gap comes before every sample of the restored subscription, and those carry fresh data
        first_gap = after.index(gap)
        assert all(isinstance(i, Gap) for i in after[: first_gap + 1])
        resumed = [i for i in after[first_gap + 1:] if isinstance(i, Sample)]
        assert {s.tag_id for s in resumed} >= {speed}
        assert all(s.time is None or s.time >= gap.start for s in resumed)
        assert (await c.health()).ok is False  # closed
