"""History read against the simulator: stored timestamps come back exactly, pages are followed, and a
node without history is refused with a typed error (also through ``factorypilot connect history``)."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from factorypilot.connectors.opcua import OpcUaConnector
from factorypilot.errors import CapabilityError
from factorypilot.pilots.simulator import PlantSimulator
from factorypilot.pilots.simulator._backfill import backfill_history

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
N = 25_000  # asyncua's history answers at most 10,000 values per request: three pages


def rows(n: int) -> list[tuple[float, datetime, datetime | None]]:
    # source and server times differ (a real historian stamps on arrival); every 1,000th has no server time
    return [(round(2.0 + (i % 97) / 100, 2), T0 + timedelta(milliseconds=100 * i),
             None if i % 1000 == 999 else T0 + timedelta(milliseconds=100 * i + 7)) for i in range(n)]


async def test_history_pages_and_timestamps_equal_what_the_server_stored() -> None:
    async with PlantSimulator("mobility", realtime=False, history_size=N + 10) as sim:
        role = "spindle_vibration"
        stored = rows(N)
        await backfill_history(sim, role, stored)
        async with OpcUaConnector(OpcUaConnector.Config(endpoint=sim.endpoint, timeout_s=10)) as c:
            got = await c.history([sim.node_id(role)], T0, T0 + timedelta(hours=1))
    got = [s for s in got if s.source_time is not None and s.source_time < T0 + timedelta(seconds=N / 10)]
    assert len(got) == N
    assert [s.value for s in got] == [r[0] for r in stored]
    assert [s.source_time for s in got] == [r[1] for r in stored]
    assert [s.server_time for s in got] == [r[2] for r in stored]  # None stays None, never 1601-01-01
    assert all(s.server_time is None or s.server_time.year == 2026 for s in got)


async def test_zero_server_timestamp_reads_as_none_not_1601() -> None:
    async with PlantSimulator("mobility", realtime=False) as sim:
        epoch = datetime(1601, 1, 1, tzinfo=UTC)  # what a server sends as DateTime 0
        await backfill_history(sim, "spindle_vibration", [(3.3, T0, epoch)])
        async with OpcUaConnector(OpcUaConnector.Config(endpoint=sim.endpoint)) as c:
            got = await c.history([sim.node_id("spindle_vibration")], T0 - timedelta(seconds=1),
                                  T0 + timedelta(seconds=1))
    assert [(s.value, s.source_time, s.server_time) for s in got] == [(3.3, T0, None)]


async def test_non_historized_node_is_a_capability_error() -> None:
    async with PlantSimulator("mobility", realtime=False) as sim, \
            OpcUaConnector(OpcUaConnector.Config(endpoint=sim.endpoint)) as c:
        node = sim.node_id("machine_state")
        with pytest.raises(CapabilityError, match="keeps no history") as info:
            await c.history([node], T0, T0 + timedelta(hours=1))
    assert node in str(info.value)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "factorypilot"
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120, check=False)


async def test_cli_history_csv_and_refusal(tmp_path: Path) -> None:
    import asyncio

    async with PlantSimulator("mobility", realtime=False) as sim:
        await backfill_history(sim, "spindle_vibration", rows(30))
        out = tmp_path / "vib.csv"
        ok = await asyncio.to_thread(_cli, "connect", "history", sim.endpoint, sim.node_id("spindle_vibration"),
                                     "--start", "2026-03-02T17:00+09:00", "--end", "2026-03-02T17:00:02+09:00",
                                     "--csv", str(out))
        refused = await asyncio.to_thread(_cli, "connect", "history", sim.endpoint, sim.node_id("machine_state"),
                                          "--start", "2026-03-02T08:00", "--end", "2026-03-02T09:00")
    assert ok.returncode == 0, ok.stderr
    table = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(table) == 21  # 08:00:00.0 .. 08:00:02.0 inclusive, every 100 ms
    assert table[0]["source_time"] == "2026-03-02T08:00:00+00:00"
    assert table[0]["server_time"] == "2026-03-02T08:00:00.007000+00:00"
    assert table[0]["value"] == "2.0"
    assert refused.returncode != 0
    assert "keeps no history" in refused.stdout + refused.stderr
    assert "Traceback" not in refused.stdout + refused.stderr
