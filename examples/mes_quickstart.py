"""MES exports in five minutes: what a small firm runs on its first export file.

Writes two example exports (a CP949 CSV with Korean headers from a production log, and a downtime
list in JSON Lines), inspects the CSV, ingests both (twice — the second time everything is a duplicate),
then asks the questions a pilot asks: scrap rate per shift and downtime per machine.

Run:  python examples/mes_quickstart.py [WORKDIR]
(records go to FACTORYPILOT_HOME/mes/quickstart.sqlite; FACTORYPILOT_HOME defaults to ./.factorypilot)
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

from factorypilot.connectors.mes import MappingConfig, MesFilesConfig, MesFilesConnector

PRODUCTION = """설비,생산일시,품번,양품수량,불량수량,작업지시번호
CNC-01,2026-11-25 07:30:00,브래킷-A,118,2,WO-1001
CNC-01,2026-11-25 15:30:00,브래킷-A,104,9,WO-1001
CNC-02,2026-11-25 08:10:00,하우징-B,96,1,WO-1002
CNC-02,2026-11-25 23:10:00,하우징-B,88,6,WO-1002
CNC-02,2026-11-25 23:50:00,하우징-B,열두개,0,WO-1002
"""

DOWNTIME = [
    {"설비": "CNC-01", "정지시작": "2026-11-25 10:00:00", "정지종료": "2026-11-25 10:40:00", "정지사유": "공구교체"},
    {"설비": "CNC-02", "정지시작": "2026-11-25 13:00:00", "정지종료": "2026-11-25 13:15:00", "정지사유": "자재대기"},
    {"설비": "CNC-01", "정지시작": "2026-11-25 20:05:00", "정지종료": "2026-11-25 20:25:00", "정지사유": "공구교체"},
]


async def main(workdir: Path) -> None:
    csv_path = workdir / "생산실적_20261125.csv"
    csv_path.write_bytes(PRODUCTION.encode("cp949"))
    jsonl_path = workdir / "비가동_20261125.jsonl"
    jsonl_path.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in DOWNTIME) + "\n", encoding="utf-8")

    config = MesFilesConfig(source="quickstart", mappings=[
        MappingConfig(kind="production", pattern="생산실적_*.csv"),
        MappingConfig(kind="downtime", pattern="비가동_*.jsonl",
                      enums={"reason": {"공구교체": "tool change", "자재대기": "waiting for material"}}),
    ])
    async with MesFilesConnector(config) as mes:
        seen = await mes.inspect(csv_path)
        print(f"inspect: {seen.format}, encoding {seen.encoding}, kind {seen.kind}")
        print(f"  mapping: {seen.mapping}")
        for _ in range(2):
            for path in (csv_path, jsonl_path):
                r = await mes.ingest(path)
                print(f"ingest {path.name}: accepted {r.accepted} / quarantined {r.quarantined} / "
                      f"duplicates {r.duplicates}")
        print("scrap rate per shift:")
        for row in await mes.scrap_rate_per_shift():
            print(f"  {row['date']} {row['shift']}: {row['scrap']}/{row['good'] + row['scrap']} = "
                  f"{row['scrap_rate']:.1%}")
        print("downtime per machine:")
        for row in await mes.downtime_per_machine():
            print(f"  {row['equipment']}: {row['stops']} stops, {row['minutes']:.0f} min")
        # what an agent sees, through the connector interface
        latest = await mes.records("production", filters={"equipment": "CNC-02"})
        print(f"CNC-02 records: {len(latest)}; totals as tags: {[t.id for t in await mes.browse()]}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        target = Path(sys.argv[1])
        target.mkdir(parents=True, exist_ok=True)
        asyncio.run(main(target))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(main(Path(tmp)))
