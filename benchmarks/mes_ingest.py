"""Benchmark: MES CSV ingest vs raw pyarrow CSV parsing vs pandas.read_csv (same file, same run).

    python benchmarks/mes_ingest.py            # 1,000,000 rows
    python benchmarks/mes_ingest.py --quick    # 100,000 rows

The CSV (Korean headers, ~1 % bad rows) is generated into a temp dir at run time. Each contender runs in
its own process so peak RSS (ru_maxrss) is its own. Contenders:
- pyarrow.csv.read_csv: parse only, type inference, all cores
- pandas.read_csv: parse only (C engine; pandas 3 reads text into Arrow-backed strings)
- pandas.read_csv (object str): the same with Python-object strings, pandas 1.x/2.x's default (information only)
- factorypilot validate: the file cut into pieces parsed and validated on two worker threads (vectorised);
  rejected rows are held column-wise (no storage; the quarantine file is written only by ingest)
- factorypilot ingest: the above + the stored path: SQLite merge (natural keys incl. shift, duplicates and
  conflicts settled in SQL) + quarantine file
- pandas + same checks (reference, not in the goal): pandas parse + to_datetime/to_numeric/tz + bad-row mask
Each contender runs ``--repeat`` times (default 3), interleaved round by round so that background load
hits all of them alike; the table shows the median (and the best) time.
Goal (issue 14): validate >= 0.5x pyarrow rows/s on the 1M-row file; the ingest row shows the stored path.
(The earlier ">= 1x pandas" goal is retired; the pandas columns stay for information.)
"""

from __future__ import annotations

import argparse
import os
import random
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

HEADER = "설비,생산일시,양품수량,불량수량,작업지시번호,품번,로트번호\n"


def generate(path: Path, rows: int, encoding: str) -> int:
    rnd = random.Random(42)
    t0 = datetime(2026, 1, 1, 6, 0, 0)
    bad = 0
    with path.open("w", encoding=encoding, newline="") as fh:
        fh.write(HEADER)
        chunk: list[str] = []
        for i in range(rows):
            good, scrap = rnd.randint(0, 500), rnd.randint(0, 20)
            ts = (t0 + timedelta(seconds=i * 7)).strftime("%Y-%m-%d %H:%M:%S")
            good_s = str(good)
            if i % 97 == 0:
                good_s, bad = "불량입력", bad + 1
            chunk.append(f"CNC-{i % 40:02d},{ts},{good_s},{scrap},WO-{i // 500:06d},브래킷-{i % 7},LOT-{i // 2000}\n")
            if len(chunk) == 10_000:
                fh.write("".join(chunk))
                chunk.clear()
        fh.write("".join(chunk))
    return bad


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(name: str, path: str, encoding: str, home: str, out: Any) -> None:
    import pandas as pd
    import pyarrow.csv as pcsv

    from factorypilot.connectors.mes import MesFilesConfig, MesStore
    from factorypilot.connectors.mes._ingest import ingest_file

    base = _peak_mb()  # after imports: the figure below is the run's own growth plus the interpreter
    t = time.perf_counter()
    if name == "pyarrow.csv.read_csv":
        rows = pcsv.read_csv(path, read_options=pcsv.ReadOptions(encoding=encoding)).num_rows
    elif name == "pandas.read_csv":
        rows = len(pd.read_csv(path, encoding=encoding))
    elif name == "pandas.read_csv (object str)":
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the option is deprecated in pandas 3 (and gone in 4)
            pd.options.future.infer_string = False
        rows = len(pd.read_csv(path, encoding=encoding))
    elif name == "pandas + same checks":  # the same typing/validation written in pandas, for reference
        df = pd.read_csv(path, encoding=encoding, dtype=str, keep_default_na=False)
        ts = pd.to_datetime(df["생산일시"], format="%Y-%m-%d %H:%M:%S", errors="coerce")
        ts = ts.dt.tz_localize("Asia/Seoul").dt.tz_convert("UTC")
        good = pd.to_numeric(df["양품수량"], errors="coerce")
        scrap = pd.to_numeric(df["불량수량"], errors="coerce")
        bad = ts.isna() | good.isna() | scrap.isna() | (df["설비"].str.strip() == "")
        accepted = df[~bad]
        rows = len(accepted) + int(bad.sum())
    else:
        cfg = MesFilesConfig(home=Path(home), mappings=[{"kind": "production", "encoding": encoding}])
        store = MesStore(Path(home) / f"bench-{os.getpid()}.sqlite") if name.endswith("ingest") else None
        report = ingest_file(Path(path), cfg, store)
        rows = report.total
        if store is not None:
            store.close()
    out.put((name, time.perf_counter() - t, rows, _peak_mb(), base))


def measure(name: str, path: Path, encoding: str, home: Path) -> tuple[str, float, int, float, float]:
    return in_fresh_process(_run, name, str(path), encoding, str(home))  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="100,000 rows instead of 1,000,000")
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--encoding", default="utf-8", help="file encoding (utf-8 or cp949)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per contender (median reported)")
    ap.add_argument("--only", default=None, metavar="WORDS",
                    help="comma-separated words; run only the contenders whose name contains one "
                         "(pyarrow and pandas always run, as the baselines), e.g. --only validate")
    args = ap.parse_args()
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    names: tuple[str, ...] = ("pyarrow.csv.read_csv", "pandas.read_csv", "pandas.read_csv (object str)",
                              "pandas + same checks", "factorypilot validate", "factorypilot ingest")
    if args.only:
        words = [w.strip() for w in args.only.split(",") if w.strip()]
        names = tuple(n for n in names if n.endswith("read_csv") or any(w in n for w in words))
    console = Console(width=140)
    runs: dict[str, list[tuple[str, float, int, float, float]]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "production.csv"
        bad = generate(path, rows, args.encoding)
        import pandas as pd
        import pyarrow as pa

        console.print(f"{rows:,} rows ({bad:,} bad), {path.stat().st_size / 1e6:.1f} MB, {args.encoding}, "
                      f"{args.repeat} runs each; pandas {pd.__version__}, pyarrow {pa.__version__}, "
                      f"{os.cpu_count()} CPUs")
        for _ in range(args.repeat):
            for n in names:
                runs[n].append(measure(n, path, args.encoding, Path(tmp) / "home"))
    median = {n: statistics.median(r[1] for r in runs[n]) for n in names}
    speed = {n: runs[n][0][2] / median[n] for n in names}
    table = Table(title=f"MES CSV ingest, {rows:,} rows (median of {args.repeat})")
    for col in ("contender", "median s", "best s", "rows/s", "peak RSS MB", "RSS growth MB", "vs pyarrow",
                "vs pandas"):
        table.add_column(col, justify="left" if col == "contender" else "right")
    for n in names:
        r = runs[n]
        peak = max(x[3] for x in r)
        growth = max(x[3] - x[4] for x in r)
        table.add_row(n, f"{median[n]:.2f}", f"{min(x[1] for x in r):.2f}", f"{speed[n]:,.0f}", f"{peak:.0f}",
                      f"{growth:.0f}", f"{speed[n] / speed['pyarrow.csv.read_csv']:.2f}x",
                      f"{speed[n] / speed['pandas.read_csv']:.2f}x")
    console.print(table)


if __name__ == "__main__":
    main()
