"""Benchmark: MES XLSX ingest (validate only) with calamine vs openpyxl, against pandas.read_excel.

    python benchmarks/mes_xlsx.py              # 100,000 rows
    python benchmarks/mes_xlsx.py --quick      # 10,000 rows

The workbook (Korean headers, ~1 % bad rows, the same columns as benchmarks/mes_ingest.py) is generated into a
temp dir. Each contender runs in its own process, ``--repeat`` times, interleaved; the median is shown.
- pandas.read_excel (openpyxl): pandas' default engine, parse only
- pandas.read_excel (calamine): parse only
- factorypilot validate (calamine): the default for sheets whose XML is up to 64 MB
- factorypilot validate (openpyxl): the streaming reader used above that (memory bounded by batch_rows)
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from _spawn import in_fresh_process
from rich.console import Console
from rich.table import Table

HEADER = ["설비", "생산일시", "양품수량", "불량수량", "작업지시번호", "품번", "로트번호"]
NAMES = ("pandas.read_excel (openpyxl)", "pandas.read_excel (calamine)", "factorypilot validate (calamine)",
         "factorypilot validate (openpyxl)")


def generate(path: Path, rows: int) -> int:
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("실적")
    ws.append(HEADER)
    t0 = datetime(2026, 1, 1, 6)
    bad = 0
    for i in range(rows):
        good: object = (i * 37) % 500
        if i % 97 == 0:
            good, bad = "불량입력", bad + 1
        ws.append([f"CNC-{i % 40:02d}", t0 + timedelta(seconds=7 * i), good, i % 20, f"WO-{i // 500:06d}",
                   f"브래킷-{i % 7}", f"LOT-{i // 2000}"])
    wb.save(path)
    return bad


def _run(name: str, path: str, home: str, out: Any) -> None:
    import pandas as pd

    from factorypilot.connectors.mes import MesFilesConfig
    from factorypilot.connectors.mes._ingest import ingest_file

    t = time.perf_counter()
    if name.startswith("pandas"):
        rows = len(pd.read_excel(path, engine="calamine" if "calamine" in name else "openpyxl"))
    else:
        reader = "calamine" if "calamine" in name else "openpyxl"
        cfg = MesFilesConfig(home=Path(home), xlsx_reader=reader, mappings=[{"kind": "production"}])
        rows = ingest_file(Path(path), cfg, None).total
    out.put((name, time.perf_counter() - t, rows, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def measure(name: str, path: Path, home: Path) -> tuple[str, float, int, float]:
    return in_fresh_process(_run, name, str(path), str(home))  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="10,000 rows")
    ap.add_argument("--repeat", type=int, default=3, help="runs per contender (median reported)")
    args = ap.parse_args()
    if args.quick:
        args.rows = 10_000
    console = Console(width=120)
    runs: dict[str, list[tuple[str, float, int, float]]] = {n: [] for n in NAMES}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "production.xlsx"
        bad = generate(path, args.rows)
        console.print(f"{args.rows:,} rows ({bad:,} bad), {path.stat().st_size / 1e6:.1f} MB xlsx, "
                      f"{args.repeat} runs each")
        for _ in range(args.repeat):
            for n in NAMES:
                runs[n].append(measure(n, path, Path(tmp) / "home"))
    base = statistics.median(r[1] for r in runs[NAMES[0]])
    table = Table(title=f"MES XLSX, {args.rows:,} rows (median of {args.repeat})")
    for col in ("contender", "median s", "rows/s", "peak RSS MB", "vs pandas (openpyxl)"):
        table.add_column(col, justify="left" if col == "contender" else "right")
    for n in NAMES:
        median = statistics.median(r[1] for r in runs[n])
        table.add_row(n, f"{median:.2f}", f"{runs[n][0][2] / median:,.0f}", f"{max(r[3] for r in runs[n]):.0f}",
                      f"{base / median:.2f}x")
    console.print(table)


if __name__ == "__main__":
    main()
