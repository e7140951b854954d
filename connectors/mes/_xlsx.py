"""XLSX reader: calamine (fast, sheet in memory) or openpyxl read-only mode (streamed) for sheets too big for
memory; rows in batches, merged areas filled with their top-left value."""

from __future__ import annotations

import itertools
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
import pyarrow.compute as pc

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
                 ) -> Iterator[tuple[int, list[object]]]:
    """(1-based row number, cell values) with merged areas filled with their top-left value."""
    by_top: dict[int, list[tuple[int, int, int, int]]] = {}
    for rng in merged:
        by_top.setdefault(rng[1], []).append(rng)
    active: list[tuple[tuple[int, int, int, int], object]] = []
    for n, raw in enumerate(rows, start=1):
        row = list(raw)
        for rng in by_top.pop(n, ()):
            active.append((rng, row[rng[0] - 1] if rng[0] - 1 < len(row) else None))
        if active:
            for (min_col, _, max_col, _), top in active:
                if len(row) < max_col:
                    row.extend([None] * (max_col - len(row)))
                row[min_col - 1: max_col] = [top] * (max_col - min_col + 1)
            active = [(rng, top) for rng, top in active if rng[3] > n]
        yield n, row


@dataclass
class _Sheet:
    """An open worksheet: its rows from row 1 (each a tuple of cells from column A), its merged areas and the
    errors its reader raises while reading."""

    title: str
    reader: str
    rows: Iterator[tuple[object, ...]]
    merged: list[tuple[int, int, int, int]]
    declared: int | None
    close: Callable[[], None]
    errors: tuple[type[BaseException], ...]


def _unreadable(exc: BaseException, file: str) -> DataError:
    return DataError(f"cannot read the sheet: {short(exc)}", file=file, hint="is the file complete? re-export it")


_OPENING: tuple[type[BaseException], ...] = (OSError, KeyError, ValueError, zipfile.BadZipFile, SyntaxError)
_NOT_A_WORKBOOK = "is it a real, complete .xlsx (not .xls or a renamed CSV)? re-export it"


def _calamine_fits(path: Path, cfg: MesFilesConfig) -> bool:
    """Whether to read with calamine (whole sheet in memory, ~20x faster) rather than openpyxl's streaming
    reader: by the uncompressed size of the sheets' and shared strings' XML, which bounds calamine's memory
    (~0.5 kB per row of a typical export: 64 MB of XML is some 400k rows, ~250 MB)."""
    if cfg.xlsx_reader != "auto":
        return cfg.xlsx_reader == "calamine"
    try:
        with zipfile.ZipFile(path) as zf:
            xml = sum(i.file_size for i in zf.infolist()
                      if i.filename.startswith("xl/worksheets/") or i.filename == "xl/sharedStrings.xml")
    except (zipfile.BadZipFile, OSError):
        return False  # let the reader say what is wrong
    return xml <= _CALAMINE_MAX_XML


_CALAMINE_MAX_XML = 64 << 20


def _open_calamine(path: Path, mapping: MappingConfig, file: str) -> _Sheet:
    import python_calamine

    calamine_error: type[BaseException] = python_calamine.CalamineError  # (the stubs declare it loosely)
    errors: tuple[type[BaseException], ...] = (calamine_error, *_OPENING)
    try:
        wb = python_calamine.CalamineWorkbook.from_path(str(path))
    except errors as exc:
        raise DataError(f"cannot open the workbook: {short(exc)}", file=file, hint=_NOT_A_WORKBOOK) from exc
    try:
        names = [m.name for m in wb.sheets_metadata if m.typ == python_calamine.SheetTypeEnum.WorkSheet]
        if mapping.sheet is not None and mapping.sheet not in names:
            raise DataError(f"no sheet named {mapping.sheet!r}", file=file, hint=f"sheets: {', '.join(names)}")
        if not names:
            raise DataError("the workbook has no worksheet", file=file, hint=_NOT_A_WORKBOOK)
        title = mapping.sheet or names[0]
        sheet = wb.get_sheet_by_name(title)
    except errors as exc:
        wb.close()
        raise _unreadable(exc, file) from exc
    except BaseException:
        wb.close()
        raise
    # iter_rows() yields rows 0..end from the top, each holding columns start..end: pad to column A
    left = ("",) * (sheet.start[1] if sheet.start else 0)
    rows = (left + tuple(r) for r in sheet.iter_rows())
    merged = [(c0 + 1, r0 + 1, c1 + 1, r1 + 1) for (r0, c0), (r1, c1) in (sheet.merged_cell_ranges or [])]
    declared = sheet.end[0] + 1 if sheet.end else None
    return _Sheet(title, "calamine", rows, merged, declared, wb.close, errors)


def _open_openpyxl(path: Path, mapping: MappingConfig, file: str) -> _Sheet:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    errors = (InvalidFileException, *_OPENING)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except errors as exc:
        raise DataError(f"cannot open the workbook: {short(exc)}", file=file, hint=_NOT_A_WORKBOOK) from exc
    try:
        if mapping.sheet is not None and mapping.sheet not in wb.sheetnames:
            raise DataError(f"no sheet named {mapping.sheet!r}", file=file,
                            hint=f"sheets: {', '.join(wb.sheetnames)}")
        ws = wb[mapping.sheet] if mapping.sheet else wb.worksheets[0]
        declared = ws.max_row if isinstance(ws.max_row, int) and ws.max_row > 0 else None
        ws.reset_dimensions()  # exporters often write a wrong <dimension>; read what is there
        try:
            merged = _merged_ranges(ws, file)
        except errors as exc:
            raise _unreadable(exc, file) from exc
    except BaseException:
        wb.close()
        raise
    return _Sheet(ws.title, "openpyxl", ws.iter_rows(values_only=True), merged, declared, wb.close, errors)


def read_xlsx(path: Path, mapping: MappingConfig, cfg: MesFilesConfig,
              progress: Progress | None = None) -> tuple[FileInfo, Iterator[RawBatch]]:
    """Rows in batches of ``batch_rows``, merged areas filled with their top-left value.

    Sheets whose XML fits ``_CALAMINE_MAX_XML`` are read by calamine (Rust, the sheet in memory); larger ones
    are streamed by openpyxl's read-only mode, so memory stays bounded (``xlsx_reader`` overrides the choice).
    ``progress`` gets the file size scaled by the share of the sheet's declared rows read so far (a workbook is
    compressed, so bytes read say little); without a declared size it is told only at the end."""
    file = str(path)
    sheet = (_open_calamine if _calamine_fits(path, cfg) else _open_openpyxl)(path, mapping, file)
    opening = sheet.errors
    declared = sheet.declared
    try:
        try:
            rows = _filled_rows(sheet.rows, sheet.merged)
            start = mapping.skip_rows + mapping.header_rows
            head = [row for _, row in itertools.islice(rows, start)]
        except opening as exc:
            raise _unreadable(exc, file) from exc
    except BaseException:
        sheet.close()
        raise
    if len(head) < start:
        sheet.close()
        raise DataError("the sheet has no header row", file=file, hint="check skip_rows/header_rows or the sheet")
    columns = join_headers([[_cell(v) for v in row] for row in head[mapping.skip_rows:start]])
    info = FileInfo("xlsx", None, None, columns, detail=f"sheet {sheet.title!r}, read by {sheet.reader}")

    size = path.stat().st_size

    def tell(n: int) -> None:
        if progress is not None and declared:
            progress(min(size, size * n // declared))

    def batches() -> Iterator[RawBatch]:
        try:
            chunk: list[tuple[int, list[object]]] = []
            for n, row in rows:
                if any(v is not None and v != "" for v in row):  # trailing empty (formatted) rows are common
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
            raise _unreadable(exc, file) from exc
        finally:
            sheet.close()

    return info, batches()


def _xlsx_batch(chunk: list[tuple[int, list[object]]], columns: list[str]) -> RawBatch:
    cols = {name: _column_text([r[i] if i < len(r) else None for _, r in chunk]) for i, name in enumerate(columns)}
    return RawBatch(pa.table(cols), pa.array([n for n, _ in chunk], pa.int64()))


def _column_text(values: list[object]) -> pa.Array:
    """``[_cell(v) for v in values]`` as an Arrow array; columns of one kind (text, whole numbers, naive
    date-times: nearly all of an export) are converted by Arrow kernels instead of cell by cell."""
    kinds = set(map(type, values)) - {type(None)}
    try:
        if kinds <= {str}:
            return pc.fill_null(pa.array(values, pa.string()), "")
        if kinds <= {int, float}:
            numbers = pa.array(values, pa.float64() if float in kinds else pa.int64())
            if float in kinds:
                whole = pc.and_(pc.equal(pc.floor(numbers), numbers), pc.less(pc.abs(numbers), 2.0**53))
                if not pc.all(whole).as_py():  # fractions, huge values, inf/nan: Python's own spelling
                    return pa.array([_cell(v) for v in values], pa.string())
                numbers = numbers.cast(pa.int64())
            return pc.fill_null(numbers.cast(pa.string()), "")
        if kinds == {datetime} and all(v is None or v.tzinfo is None for v in values):  # type: ignore[attr-defined]
            stamps = pc.round_temporal(pa.array(values, pa.timestamp("us")), unit="second")
            return pc.fill_null(stamps.cast(pa.timestamp("s")).cast(pa.string()), "")
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        pass
    return pa.array([_cell(v) for v in values], pa.string())


def _cell(v: object) -> str:
    """A cell as text: numbers without a spurious '.0', date-times as 'YYYY-MM-DD hh:mm:ss' rounded to the
    second (Excel stores them as fractions of a day, so 07:00 may come back as 06:59:59.999999). Checked by
    exact type in order of frequency: this runs for every cell."""
    kind = type(v)
    if kind is str:
        return cast(str, v)
    if kind is float:
        number = cast(float, v)
        return str(int(number)) if number.is_integer() else str(number)
    if v is None:
        return ""
    if isinstance(v, datetime):
        whole = v.replace(microsecond=0, tzinfo=None) + timedelta(seconds=v.microsecond >= 500_000)
        return whole.isoformat(" ")
    if isinstance(v, date):
        return v.isoformat() + " 00:00:00"
    return str(v)
