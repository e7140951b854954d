"""MES exports (CP949 CSV with Korean headers, B2MML V0600 XML) agree with the OPC UA counters."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from asyncua import Client
from defusedxml import ElementTree as SafeET

from factorypilot.pilots.simulator import Fault, FaultKind, PlantSimulator
from factorypilot.pilots.simulator.mes_export import B2MML_NS, CSV_HEADERS, export_mes


async def test_export_totals_equal_the_opcua_counters(tmp_path: Path) -> None:
    async with PlantSimulator(seed=8, realtime=False, scale=2) as sim:
        sim.inject(Fault(FaultKind.DRIFT, "spindle_vibration", start_tick=150, magnitude=0.05))
        await sim.step(430)
        export = export_mes(sim, tmp_path, ticks_per_order=100)
        async with Client(sim.endpoint) as client:
            counters = {r: await client.get_node(sim.node_id(r)).read_value()
                        for r in ("good_count", "scrap_count", "line02_good_count", "line02_scrap_count")}

    good = counters["good_count"] + counters["line02_good_count"]
    scrap = counters["scrap_count"] + counters["line02_scrap_count"]
    assert scrap > 0  # the drift made scrap
    assert (export.good_total, export.scrap_total) == (good, scrap)
    assert len(export.rows) == 10  # 5 work orders (4 full + 1 partial) x 2 lines

    text = export.csv_path.read_bytes().decode("cp949")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_HEADERS
    assert sum(int(r["양품수량"]) for r in rows) == good
    assert sum(int(r["불량수량"]) for r in rows) == scrap
    assert sum(int(r["양품수량"]) for r in rows if r["라인"] == "line-01") == counters["good_count"]
    assert {r["교대"] for r in rows} <= {"주간", "오후", "야간"}
    assert rows[0]["작업지시번호"].startswith("WO-20260105-")

    root = SafeET.parse(export.xml_path).getroot()
    ns = {"b": B2MML_NS}
    assert root.tag == f"{{{B2MML_NS}}}ProductionPerformance"
    xml_good = xml_scrap = 0
    for q in root.iterfind(".//b:SegmentResponse/b:MaterialActual/b:Quantity", ns):
        value = int(q.findtext("b:QuantityString", namespaces=ns) or "0")
        if q.findtext("b:Key", namespaces=ns) == "Scrap":
            xml_scrap += value
        else:
            xml_good += value
    assert (xml_good, xml_scrap) == (good, scrap)
    assert len(root.findall("b:ProductionResponse", ns)) == 10


async def test_export_is_deterministic(tmp_path: Path) -> None:
    outputs = []
    for run in range(2):
        sim = PlantSimulator(seed=3, realtime=False)
        await sim.step(250)
        export = export_mes(sim, tmp_path / str(run))
        outputs.append((export.csv_path.read_bytes(), export.xml_path.read_bytes()))
    assert outputs[0] == outputs[1]


async def test_the_mes_connector_reads_both_exports_back(tmp_path: Path) -> None:
    from factorypilot.connectors.mes import MesFilesConfig, MesFilesConnector

    sim = PlantSimulator(seed=3, realtime=False)
    await sim.step(600)
    export = export_mes(sim, tmp_path / "out")
    # one store per export: the CSV names each order's shift by its start, the XML has none (derived from its end
    # time), and the shift is part of the natural key — an order spanning a shift change is not one record across
    # the two formats. Each store alone must equal the counters.
    for path in (export.csv_path, export.xml_path):
        cfg = MesFilesConfig(source=f"sim-{path.suffix[1:]}", mappings=[{"pattern": "*.csv", "kind": "production"}])
        async with MesFilesConnector(cfg) as mes:
            seen = await mes.inspect(path)
            assert seen.kind == "production"
            result = await mes.ingest(path)
            assert result.quarantined == 0
            per_shift = await mes.scrap_rate_per_shift()
        assert sum(r["good"] for r in per_shift) == sim.value("good_count")
        assert sum(r["scrap"] for r in per_shift) == sim.value("scrap_count")
