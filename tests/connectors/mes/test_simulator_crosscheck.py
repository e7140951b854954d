"""Ingest the simulator's MES exports (CP949 CSV + B2MML V0600) and compare with its OPC UA counters."""

from __future__ import annotations

from pathlib import Path

from asyncua import Client

from factorypilot.connectors.mes import MesFilesConfig, MesFilesConnector
from factorypilot.pilots.simulator import Fault, FaultKind, PlantSimulator
from factorypilot.pilots.simulator.mes_export import export_mes

ROLES = ("good_count", "scrap_count", "line02_good_count", "line02_scrap_count")


async def test_ingested_exports_match_the_opcua_counters(tmp_path: Path) -> None:
    async with PlantSimulator(seed=8, realtime=False, scale=2) as sim:
        sim.inject(Fault(FaultKind.DRIFT, "spindle_vibration", start_tick=150, magnitude=0.05))
        await sim.step(430)
        export = export_mes(sim, tmp_path / "export", ticks_per_order=100)
        async with Client(sim.endpoint) as client:
            counters = {r: await client.get_node(sim.node_id(r)).read_value() for r in ROLES}
    good = counters["good_count"] + counters["line02_good_count"]
    scrap = counters["scrap_count"] + counters["line02_scrap_count"]
    assert scrap > 0

    shifts = {"주간": "06:00", "오후": "14:00", "야간": "22:00"}
    for name, path in (("csv", export.csv_path), ("xml", export.xml_path)):
        cfg = MesFilesConfig(source=f"sim-{name}", shifts=shifts, mappings=[{"pattern": "*.csv", "kind": "production"}])
        async with MesFilesConnector(cfg) as mes:
            report = await mes.ingest(path)
            rows = await mes.records("production")
            per_shift = await mes.scrap_rate_per_shift()
        assert (report.accepted, report.quarantined) == (len(export.rows), 0), name
        assert sum(r["good"] for r in rows) == good, name
        assert sum(r["scrap"] for r in rows) == scrap, name
        assert sum(s["scrap"] for s in per_shift) == scrap, name
        assert {s["shift"] for s in per_shift} <= set(shifts)
    assert report.encoding is None  # XML: the parser reads the declared encoding

    # both exports of the same run into one store: the second adds no records (same natural keys)
    both = MesFilesConfig(source="sim-both", shifts=shifts, mappings=[{"pattern": "*.csv", "kind": "production"}])
    async with MesFilesConnector(both) as mes:
        first = await mes.ingest(export.csv_path)
        second = await mes.ingest(export.xml_path)
        totals = await mes.records("production")
    assert first.encoding == "cp949"
    assert second.inserted == 0
    assert len(totals) == len(export.rows)
    assert sum(r["good"] for r in totals) == good
