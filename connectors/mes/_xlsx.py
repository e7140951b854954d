"""XLSX reader: openpyxl read-only mode, rows streamed in batches, merged areas filled with their top-left value."""

from __future__ import annotations

import itertools
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from factorypilot.connectors.mes._tabular import FileInfo, Progress, RawBatch, join_headers, short
from factorypilot.connectors.mes.config import MappingConfig, MesFilesConfig
from factorypilot.errors import DataError

_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _merged_ranges(ws: Any, file: str) -> list[tuple[int, int, int, int]]:
    """(min_col, min_row, max_col, max_row) of every merged area. Read-only worksheets do not expose them, so
    the sheet XML is scanned once more with a hardened streaming parser (rows are dropped as they pass)."""
    from lxml import etree
    from openpyxl.utils.cell import range_boundaries

    out: list[tuple[int, int, int, int]] = []
    src = ws._get_source()
    try:
        for _, el in etree.iterparse(src, events=("end",), resolve_entities=False, no_network=True,
                                     load_dtd=False, huge_tree=False):
            if el.tag == _SHEET_NS + "mergeCell" and el.get("ref"):
                bounds = range_boundaries(el.get("ref"))
                out.append((int(bounds[0] or 1), int(bounds[1] or 1), int(bounds[2] or 1), int(bounds[3] or 1)))
            elif el.tag == _SHEET_NS + "row":
                el.clear()
                while el.getprevious() is not None:
                    del el.getparent()[0]
    except etree.XMLSyntaxError as exc:
        raise DataError(f"the worksheet XML is damaged: {short(exc)}", file=file,
                        hint="open and re-save the file in Excel, or re-export it") from exc
    finally:
        src.close()
    return out


def _filled_rows(rows: Iterator[tuple[object, ...]], merged: list[tuple[int, int, int, int]]
                 ) -> Iterator[tuple[int, list[str]]]:
    """(1-based row number, cells as text) with merged areas filled with their top-left value."""
    by_top: dict[int, list[tuple[int, int, int, int]]] = {}
    for rng in merged:
        by_top.setdefault(rng[1], []).append(rng)
    active: list[tuple[tuple[int, int, int, int], str]] = []
    for n, raw in enumerate(rows, start=1):
        row = [_cell(v) for v in raw]
        for rng in by_top.pop(n, ()):
            active.append((rng, row[rng[0] - 1] if rng[0] - 1 < len(row) else ""))
        if active:
            for (min_col, _, max_col, _), top in active:
                if len(row) < max_col:
                    row.extend([""] * (max_col - len(row)))
                row[min_col - 1: max_col] = [top] * (max_col - min_col + 1)
            active = [(rng, top) for rng, top in active if rng[3] > n]
        yield n, row


def read_xlsx(path: Path, mapping: MappingConfig, cfg: MesFilesConfig,
              progress: Progress | None = None) -> tuple[FileInfo, Iterator[RawBatch]]:
    """Rows are streamed (openpyxl read-only mode) in batches, so memory is bounded by ``batch_rows``.

    ``progress`` gets the file size scaled by the share of the sheet's declared rows read so far (a workbook is
    compressed, so bytes read say little); without a declared size it is told only at the end."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    file = str(path)
    opening = (InvalidFileException, OSError, KeyError, ValueError, zipfile.BadZipFile, SyntaxError)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except opening as exc:
        raise DataError(f"cannot open the workbook: {short(exc)}", file=file,
                        hint="is it a real, complete .xlsx (not .xls or a renamed CSV)? re-export it") from exc
    try:
        if mapping.sheet is not None and mapping.sheet not in wb.sheetnames:
            raise DataError(f"no sheet named {mapping.sheet!r}", file=file,
                            hint=f"sheets: {', '.join(wb.sheetnames)}")
        ws = wb[mapping.sheet] if mapping.sheet else wb.worksheets[0]
        declared = ws.max_row if isinstance(ws.max_row, int) and ws.max_row > 0 else None
        ws.reset_dimensions()  # exporters often write a wrong <dimension>; read what is there
        try:
            merged = _merged_ranges(ws, file)
            rows = _filled_rows(ws.iter_rows(values_only=True), merged)
            start = mapping.skip_rows + mapping.header_rows
            head = [row for _, row in itertools.islice(rows, start)]
        except opening as exc:
            raise DataError(f"cannot read the sheet: {short(exc)}", file=file,
                            hint="is the file complete? re-export it") from exc
    except BaseException:
        wb.close()
        raise
    if len(head) < start:
        wb.close()
        raise DataError("the sheet has no header row", file=file, hint="check skip_rows/header_rows or the sheet")
    columns = join_headers(head[mapping.skip_rows:start])
    info = FileInfo("xlsx", None, None, columns, detail=f"sheet {ws.title!r}")

    size = path.stat().st_size

    def tell(n: int) -> None:
        if progress is not None and declared:
            progress(min(size, size * n // declared))

    def batches() -> Iterator[RawBatch]:
        try:
            chunk: list[tuple[int, list[str]]] = []
            for n, row in rows:
                if any(v != "" for v in row):  # trailing empty (formatted) rows are common
                    chunk.append((n, row))
                if len(chunk) >= cfg.batch_rows:
                    tell(n)
                    yield _xlsx_batch(chunk, columns)
                    chunk = []
            if chunk:
                yield _xlsx_batch(chunk, columns)
            if progress is not None:
                progress(size)
        except opening as exc:
            raise DataError(f"cannot read the sheet: {short(exc)}", file=file,
                            hint="is the file complete? re-export it") from exc
        finally:
            wb.close()

    return info, batches()


def _xlsx_batch(chunk: list[tuple[int, list[str]]], columns: list[str]) -> RawBatch:
    cols = {name: pa.array([r[i] if i < len(r) else "" for _, r in chunk], pa.string())
            for i, name in enumerate(columns)}
    return RawBatch(pa.table(cols), pa.array([n for n, _ in chunk], pa.int64()))


def _cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime | date):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
