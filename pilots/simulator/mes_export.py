"""MES export generator: production per work order and shift, from a simulator run.

Writes what a Korean MES would export, consistent with the OPC UA counters: the good/scrap totals over all
rows equal the published ``good_count`` / ``scrap_count`` at export time.

- CSV in CP949 with Korean headers: 작업지시번호, 라인, 설비, 교대, 품번, 양품수량, 불량수량, 시작시각, 종료시각
- ISA-95 B2MML V0600 ProductionPerformance XML (namespace ``http://www.mesa.org/xml/B2MML-V0600``): one
  ProductionResponse per work order, a SegmentResponse with ``MaterialActual`` (MaterialUse Produced, one
  Quantity keyed Good and one keyed Scrap).

Times are virtual and deterministic: ``start_time + tick × tick_seconds`` (default start 2026-01-05 06:00 KST).
Shifts: 주간 06–14, 오후 14–22, 야간 22–06 (by the work order's start).
"""

from __future__ import annotations

import bisect
import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from xml.etree import ElementTree as ET

from factorypilot.errors import ConfigError

from ._engine import PlantEngine

__all__ = ["B2MML_NS", "CSV_HEADERS", "KST", "MesExport", "ProductionRow", "export_mes", "production_rows"]

B2MML_NS = "http://www.mesa.org/xml/B2MML-V0600"
KST = timezone(timedelta(hours=9), "KST")
DEFAULT_START = datetime(2026, 1, 5, 6, 0, tzinfo=KST)
CSV_HEADERS = ("작업지시번호", "라인", "설비", "교대", "품번", "양품수량", "불량수량", "시작시각", "종료시각")


@dataclass(frozen=True)
class ProductionRow:
    work_order: str
    line: str
    equipment: str
    shift: str
    product: str
    good: int
    scrap: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class MesExport:
    csv_path: Path
    xml_path: Path
    rows: tuple[ProductionRow, ...]

    @property
    def good_total(self) -> int:
        return sum(r.good for r in self.rows)

    @property
    def scrap_total(self) -> int:
        return sum(r.scrap for r in self.rows)


def _shift(when: datetime) -> str:
    hour = when.astimezone(KST).hour
    return "주간" if 6 <= hour < 14 else ("오후" if 14 <= hour < 22 else "야간")


def _totals_before(ticks: list[int], totals: list[tuple[int, int]], tick: int) -> tuple[int, int]:
    """Counters after every tick < ``tick`` (``ticks`` ascending, starting with the initial entry at -1)."""
    i = bisect.bisect_left(ticks, tick) - 1
    return totals[i] if i >= 0 else (0, 0)


def production_rows(engine: PlantEngine, *, ticks_per_order: int = 200, tick_seconds: float = 60.0,
                    start_time: datetime = DEFAULT_START) -> list[ProductionRow]:
    """One row per work order (a window of ``ticks_per_order`` ticks) per line, up to the current tick."""
    cls = engine.cls
    if cls.counter_roles is None:
        raise ConfigError(f"model {cls.name!r} declares no counter_roles", where="mes_export",
                          hint="set counter_roles = (good_role, scrap_role) on the model")
    if ticks_per_order < 1:
        raise ConfigError("ticks_per_order must be >= 1", where="mes_export")
    end_tick = engine.tick_index
    equipment = cls.equipment[0].key if cls.equipment else cls.hierarchy.line.key
    rows: list[ProductionRow] = []
    for unit in range(len(engine.models)):
        line = engine.line_key(unit)
        entries = [(t, (g, sc)) for t, u, g, sc in engine.counter_log if u == unit]
        ticks, totals = [t for t, _ in entries], [v for _, v in entries]
        for seq, a in enumerate(range(0, max(end_tick, 1), ticks_per_order), start=1):
            b = min(a + ticks_per_order, end_tick)
            g0, s0 = _totals_before(ticks, totals, a)
            g1, s1 = _totals_before(ticks, totals, b)
            start = start_time + timedelta(seconds=a * tick_seconds)
            end = start_time + timedelta(seconds=b * tick_seconds)
            order = f"WO-{start:%Y%m%d}-{engine.first_line + unit + 1:02d}{seq:03d}"
            rows.append(ProductionRow(order, line, equipment, _shift(start),
                                      cls.product_id, g1 - g0, s1 - s0, start, end))
    return rows


def _csv_bytes(rows: list[ProductionRow]) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_HEADERS)
    for r in rows:
        w.writerow([r.work_order, r.line, r.equipment, r.shift, r.product, r.good, r.scrap,
                    r.start.strftime("%Y-%m-%d %H:%M:%S"), r.end.strftime("%Y-%m-%d %H:%M:%S")])
    return buf.getvalue().encode("cp949")


def _xml_bytes(engine: PlantEngine, rows: list[ProductionRow], published: datetime) -> bytes:
    ET.register_namespace("", B2MML_NS)

    def el(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
        node = ET.SubElement(parent, f"{{{B2MML_NS}}}{tag}")
        if text is not None:
            node.text = text
        return node

    def scope(parent: ET.Element, equipment: str, level: str) -> None:
        hs = el(parent, "HierarchyScope")
        el(hs, "EquipmentID", equipment)
        el(hs, "EquipmentElementLevel", level)

    cls = engine.cls
    root = ET.Element(f"{{{B2MML_NS}}}ProductionPerformance")
    el(root, "ID", f"PP-{cls.name}-seed{engine.seed}-t{engine.tick_index}")
    el(root, "Description", f"{cls.title_ko} / {cls.description}")
    scope(root, cls.hierarchy.site.key, "Site")
    el(root, "PublishedDate", published.isoformat())
    for r in rows:
        resp = el(root, "ProductionResponse")
        el(resp, "ID", f"{r.work_order}-R")
        scope(resp, r.line, "ProductionLine")
        el(resp, "ProductionRequestID", r.work_order)
        el(resp, "StartTime", r.start.isoformat())
        el(resp, "EndTime", r.end.isoformat())
        el(resp, "ResponseState", "Completed")
        seg = el(resp, "SegmentResponse")
        el(seg, "ID", f"{r.work_order}-S1")
        el(seg, "Description", f"교대 {r.shift}")
        el(seg, "ActualStartTime", r.start.isoformat())
        el(seg, "ActualEndTime", r.end.isoformat())
        eq = el(seg, "EquipmentActual")
        el(eq, "EquipmentID", r.equipment)
        mat = el(seg, "MaterialActual")
        el(mat, "MaterialDefinitionID", r.product)
        el(mat, "MaterialUse", "Produced")
        for key, value in (("Good", r.good), ("Scrap", r.scrap)):
            q = el(mat, "Quantity")
            el(q, "QuantityString", str(value))
            el(q, "DataType", "integer")
            el(q, "UnitOfMeasure", "EA")
            el(q, "Key", key)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def export_mes(source: PlantEngine | object, directory: Path | str, *, ticks_per_order: int = 200,
               tick_seconds: float = 60.0, start_time: datetime = DEFAULT_START,
               stem: str | None = None) -> MesExport:
    """Write ``<stem>.csv`` (CP949) and ``<stem>.xml`` (B2MML V0600) for the run so far.

    ``source`` is a :class:`PlantSimulator` (or its ``engine``). Call it between ticks (for a realtime
    simulator in another thread, through the simulator's loop) so counters do not move while exporting.
    """
    engine = source if isinstance(source, PlantEngine) else getattr(source, "engine", None)
    if not isinstance(engine, PlantEngine):
        raise ConfigError(f"cannot export from {type(source).__name__}", where="export_mes",
                          hint="pass a PlantSimulator or its .engine")
    rows = production_rows(engine, ticks_per_order=ticks_per_order, tick_seconds=tick_seconds,
                           start_time=start_time)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    name = stem or f"{engine.cls.name}-production-t{engine.tick_index}"
    csv_path, xml_path = out / f"{name}.csv", out / f"{name}.xml"
    csv_path.write_bytes(_csv_bytes(rows))
    published = start_time + timedelta(seconds=engine.tick_index * tick_seconds)
    xml_path.write_bytes(_xml_bytes(engine, rows, published))
    return MesExport(csv_path, xml_path, tuple(rows))
