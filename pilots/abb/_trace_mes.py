"""MES lot table for traceability: what a Korean MES exports per lot (CP949 CSV, Korean headers), and reading it
back to link MES lots to the line's process data.

Headers: 로트번호, 작업지시번호, 품번, 양품수량, 불량수량, 시작시각, 종료시각. Times are virtual and deterministic
(``2026-01-05 06:00 KST + tick × tick_seconds``), so the same seed gives byte-identical files.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from factorypilot.errors import DataError
from factorypilot.pilots.simulator.mes_export import KST

if TYPE_CHECKING:
    from factorypilot.pilots.abb.trace import LotRecord

__all__ = ["LOT_HEADERS", "MesLot", "read_mes_lots", "write_mes_lots"]

LOT_HEADERS = ("로트번호", "작업지시번호", "품번", "양품수량", "불량수량", "시작시각", "종료시각")
START = datetime(2026, 1, 5, 6, 0, tzinfo=KST)


@dataclass(frozen=True)
class MesLot:
    lot: str
    work_order: str
    product: str
    good: int
    scrap: int
    start: str
    end: str


def write_mes_lots(lots: Sequence[LotRecord], path: Path, *, product: str, tick_seconds: float = 1.0,
                   encoding: str = "cp949") -> Path:
    """Write the MES lot table of ``lots`` (CP949 by default, as Korean MES exports usually are)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(LOT_HEADERS)
    for lot in lots:
        start = START + timedelta(seconds=lot.first_tick * tick_seconds)
        end = START + timedelta(seconds=(lot.last_tick + 1) * tick_seconds)
        w.writerow([lot.lot, lot.work_order, product, lot.good, lot.scrap, f"{start:%Y-%m-%d %H:%M:%S}",
                    f"{end:%Y-%m-%d %H:%M:%S}"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def _decode(path: Path) -> str:
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "cp949"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise DataError("MES lot file is neither UTF-8 nor CP949", file=str(path),
                    hint="export the lot table as UTF-8 or CP949 CSV")


def read_mes_lots(path: Path) -> dict[str, MesLot]:
    """Lot number → MES row. Bad rows raise :class:`DataError` naming file, row and column."""
    try:
        text = _decode(path)
    except FileNotFoundError:
        raise DataError("MES lot file not found", file=str(path),
                        hint="export the lot table from the MES (or: factorypilot trace --record)") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [h for h in LOT_HEADERS if h not in (reader.fieldnames or [])]
    if missing:
        raise DataError(f"MES lot file lacks column(s) {', '.join(missing)}", file=str(path), row=1,
                        hint=f"expected headers: {', '.join(LOT_HEADERS)}")
    out: dict[str, MesLot] = {}
    for i, row in enumerate(reader, start=2):
        counts: list[int] = []
        for col in ("양품수량", "불량수량"):
            try:
                counts.append(int(row[col]))
            except (TypeError, ValueError):
                raise DataError(f"{col} is not a whole number: {row[col]!r}", file=str(path), row=i, column=col,
                                hint="quantities are integers") from None
        lot = row["로트번호"].strip()
        if not lot:
            raise DataError("empty lot number", file=str(path), row=i, column="로트번호")
        out[lot] = MesLot(lot, row["작업지시번호"].strip(), row["품번"].strip(), counts[0], counts[1],
                          row["시작시각"], row["종료시각"])
    return out
