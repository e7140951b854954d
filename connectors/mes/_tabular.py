"""Tabular readers: CSV/TSV (pyarrow streaming, in batches), XLSX (openpyxl) and JSON / JSON Lines.

Each reader yields ``RawBatch`` es of *string* columns named as in the export plus the source row number
of every row; structural problems (a row with the wrong number of fields, a JSON line that is not an
object) come back as ready-made quarantine entries. Typing and validation happen later, vectorised.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from factorypilot.connectors.mes._encoding import detect, normalise, sniff_binary
from factorypilot.connectors.mes.config import MappingConfig, MesFilesConfig
from factorypilot.errors import DataError

Progress = Callable[[int], None]
"""Called with the number of bytes read so far."""


@dataclass
class RawBatch:
    table: pa.Table
    rows: pa.Array
    rejects: list[dict[str, Any]] = field(default_factory=list)
    blank: int = 0


@dataclass
class FileInfo:
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    columns: list[str] = field(default_factory=list)
    detail: str = ""


def _dedupe(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, raw in enumerate(names):
        name = raw.strip() or f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        out.append(name)
    return out


def _join_headers(header_rows: list[list[str]]) -> list[str]:
    """Several header rows (merged cells already filled forward) -> one name per column: 'a/b'."""
    width = max(len(r) for r in header_rows)
    names = []
    for i in range(width):
        parts: list[str] = []
        for r in header_rows:
            cell = r[i].strip() if i < len(r) and r[i] is not None else ""
            if cell and (not parts or parts[-1] != cell):
                parts.append(cell)
        names.append("/".join(parts))
    return _dedupe(names)


class _Counting(io.RawIOBase):
    def __init__(self, inner: IO[bytes], progress: Progress | None) -> None:
        self._inner, self._progress, self.count = inner, progress, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self._inner.read(len(b))
        n = len(data)
        b[:n] = data
        self.count += n
        if self._progress is not None:
            self._progress(self.count)
        return n


def sniff_csv(path: Path, mapping: MappingConfig) -> FileInfo:
    with path.open("rb") as fh:
        head = fh.read(256 * 1024)
    file = str(path)
    encoding = normalise(mapping.encoding) if mapping.encoding else detect(head, file)
    sniff_binary(head, file)
    text = head.decode(encoding, errors="replace")
    lines = text.splitlines()[mapping.skip_rows: mapping.skip_rows + mapping.header_rows]
    if not lines:
        raise DataError("the file has no header row", file=file, hint="is the file empty or truncated?")
    delimiter = mapping.delimiter
    if delimiter is None:
        if path.suffix.lower() == ".tsv":
            delimiter = "\t"
        else:
            counts = {d: lines[0].count(d) for d in (",", "\t", ";", "|")}
            delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    headers = [next(csv.reader([line], delimiter=delimiter)) for line in lines]
    return FileInfo("csv", encoding, delimiter, _join_headers(headers))


def read_csv(path: Path, mapping: MappingConfig, cfg: MesFilesConfig, info: FileInfo,
             progress: Progress | None = None) -> Iterator[RawBatch]:
    import pyarrow.csv as pcsv

    file = str(path)
    first = mapping.skip_rows + mapping.header_rows  # physical rows before the data
    invalid: list[dict[str, Any]] = []

    def on_invalid(row: Any) -> str:
        line = int(row.number) if row.number is not None else None  # physical line (skipped rows count)
        invalid.append({"file": file, "row": line, "column": None, "field": None, "value": row.text[:200],
                        "expected": f"{row.expected_columns} fields", "reason":
                        f"row has {row.actual_columns} fields, the header has {row.expected_columns}",
                        "problems": [], "raw": {}})
        return "skip"

    read = pcsv.ReadOptions(column_names=info.columns, skip_rows=first, block_size=4 << 20, use_threads=False,
                            encoding=info.encoding or "utf-8")
    parse = pcsv.ParseOptions(delimiter=info.delimiter or ",", invalid_row_handler=on_invalid,
                              ignore_empty_lines=False, newlines_in_values=False)
    conv = pcsv.ConvertOptions(column_types={c: pa.string() for c in info.columns}, strings_can_be_null=False,
                               quoted_strings_can_be_null=False)
    emitted = 0
    seen_invalid = 0
    with path.open("rb") as raw:
        stream = io.BufferedReader(_Counting(raw, progress), buffer_size=1 << 20)
        try:
            reader = pcsv.open_csv(stream, read_options=read, parse_options=parse, convert_options=conv)
            pending: pa.RecordBatch | None = None
            for batch in _rebatch(reader, cfg.batch_rows):
                pending = batch
                new_invalid = invalid[seen_invalid:]
                seen_invalid = len(invalid)
                yield _number(pending, emitted, first, new_invalid, invalid)
                emitted += pending.num_rows
        except (pa.ArrowInvalid, UnicodeDecodeError, ValueError) as exc:
            raise DataError(f"cannot parse CSV at or after row {first + emitted + 1}: {_short(exc)}", file=file,
                            hint="check the delimiter/encoding (set them in the mapping) or whether the file "
                                 "is truncated") from exc
    if invalid[seen_invalid:]:
        yield RawBatch(pa.table({c: pa.array([], pa.string()) for c in info.columns}), pa.array([], pa.int64()),
                       invalid[seen_invalid:])


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


def _rebatch(reader: Any, rows: int) -> Iterator[pa.RecordBatch]:
    buf: list[pa.RecordBatch] = []
    count = 0
    for batch in reader:
        buf.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield buf[0] if len(buf) == 1 else pa.Table.from_batches(buf).combine_chunks().to_batches()[0]
            buf, count = [], 0
    if count:
        yield buf[0] if len(buf) == 1 else pa.Table.from_batches(buf).combine_chunks().to_batches()[0]


def _number(batch: pa.RecordBatch, emitted: int, first: int, new_invalid: list[dict[str, Any]],
            all_invalid: list[dict[str, Any]]) -> RawBatch:
    """Physical line numbers of a batch's rows: the k-th line after the header that was not skipped as invalid.

    With ``I`` the sorted invalid line numbers, valid row ``k`` (0-based over the file) sits on line
    ``first + 1 + k + j`` where ``j`` counts the invalid lines before it: ``j = searchsorted(I - first - 1 -
    arange(len(I)), k, 'right')``. Vectorised, so thousands of bad rows cost nothing per batch.
    """
    k = np.arange(emitted, emitted + batch.num_rows, dtype=np.int64)
    lines = np.sort(np.array([e["row"] for e in all_invalid if e["row"] is not None], dtype=np.int64))
    before = lines - first - 1 - np.arange(len(lines), dtype=np.int64)
    pos = first + 1 + k + np.searchsorted(before, k, side="right")
    invalid = new_invalid
    table = pa.Table.from_batches([batch])
    blank_mask = np.zeros(batch.num_rows, dtype=bool)
    if table.num_columns and pc.any(pc.equal(table.column(0), "")).as_py():  # cheap pre-check on one column
        blank_mask[:] = True
        for col in table.columns:
            blank_mask &= pc.equal(col.combine_chunks(), "").to_numpy(zero_copy_only=False)
    blank = int(blank_mask.sum())
    if blank:
        table = table.filter(pa.array(~blank_mask))
        pos = pos[~blank_mask]
    return RawBatch(table, pa.array(pos), invalid, blank)


# -- XLSX -------------------------------------------------------------------------------------------------
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
        raise DataError(f"the worksheet XML is damaged: {_short(exc)}", file=file,
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
        raise DataError(f"cannot open the workbook: {_short(exc)}", file=file,
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
            raise DataError(f"cannot read the sheet: {_short(exc)}", file=file,
                            hint="is the file complete? re-export it") from exc
    except BaseException:
        wb.close()
        raise
    if len(head) < start:
        wb.close()
        raise DataError("the sheet has no header row", file=file, hint="check skip_rows/header_rows or the sheet")
    columns = _join_headers(head[mapping.skip_rows:start])
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
            raise DataError(f"cannot read the sheet: {_short(exc)}", file=file,
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


# -- JSON / JSON Lines ------------------------------------------------------------------------------------
def _depth(obj: object, limit: int) -> int:
    stack: list[tuple[object, int]] = [(obj, 1)]
    deepest = 0
    while stack:
        cur, d = stack.pop()
        deepest = max(deepest, d)
        if deepest > limit:
            return deepest
        if isinstance(cur, dict):
            stack.extend((v, d + 1) for v in cur.values())
        elif isinstance(cur, list):
            stack.extend((v, d + 1) for v in cur)
    return deepest


def _scalar(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def _reject(file: str, row: int, line: str, expected: str, reason: str) -> dict[str, Any]:
    return {"file": file, "row": row, "column": None, "field": None, "value": line[:200], "expected": expected,
            "reason": reason, "problems": [], "raw": {}}


_Item = tuple[int, dict[str, Any] | None, dict[str, Any] | None]
"""(row, the record or None, the quarantine entry or None)."""


def _record(obj: object, row: int, line: str, file: str, depth: int) -> _Item:
    if not isinstance(obj, dict):
        return row, None, _reject(file, row, line, "JSON object", f"a {type(obj).__name__}, not an object")
    if _depth(obj, depth) > depth:
        return row, None, _reject(file, row, line, f"nesting depth <= {depth}", "nested too deeply")
    return row, obj, None


def _json_lines(path: Path, encoding: str, file: str, depth: int,
                tell: Callable[[int], None] | None = None) -> Iterator[_Item]:
    """One item per non-blank line, read line by line (memory stays bounded); ``tell`` gets bytes read."""
    with path.open("rb") as raw, io.TextIOWrapper(raw, encoding=encoding, newline=None) as fh:
        n = 0
        try:
            for n, line in enumerate(fh, start=1):
                if tell is not None and n % 4096 == 0:
                    tell(raw.tell())
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except (json.JSONDecodeError, RecursionError) as exc:
                    yield n, None, _reject(file, n, line, "JSON object", f"invalid JSON: {_short(exc)}")
                    continue
                yield _record(obj, n, line, file, depth)
        except UnicodeDecodeError as exc:
            raise DataError(f"not valid {encoding} text after line {n}: {_short(exc)}", file=file, row=n + 1,
                            hint="set `encoding` in the mapping") from exc
        if tell is not None:
            tell(raw.tell())


def _json_batches(items: Iterator[_Item], columns: list[str],
                  batch_rows: int) -> Iterator[RawBatch]:
    records: list[tuple[int, dict[str, Any]]] = []
    rejects: list[dict[str, Any]] = []

    def flush() -> RawBatch:
        cols = {c: pa.array([_scalar(o.get(c)) for _, o in records], pa.string()) for c in columns}
        return RawBatch(pa.table(cols) if cols else pa.table({}), pa.array([n for n, _ in records], pa.int64()),
                        list(rejects))

    for n, obj, reject in items:
        if obj is not None:
            records.append((n, obj))
        if reject is not None:
            rejects.append(reject)
        if len(records) + len(rejects) >= batch_rows:
            yield flush()
            records.clear()
            rejects.clear()
    if records or rejects:
        yield flush()


def read_json(path: Path, mapping: MappingConfig, cfg: MesFilesConfig,
              progress: Progress | None = None) -> tuple[FileInfo, Iterator[RawBatch]]:
    """JSON Lines are streamed in two passes (the first collects the keys, so every batch has the same
    columns; ``progress`` counts each pass as half the file); a JSON document is parsed whole (its size is
    bounded by ``max_document_mb``) and reports progress once, at the end."""
    file = str(path)
    with path.open("rb") as fh:
        head = fh.read(65536)
    encoding = normalise(mapping.encoding) if mapping.encoding else detect(head, file)
    columns: list[str] = []
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        size = path.stat().st_size

        def half(offset: int) -> Callable[[int], None] | None:  # each pass reports half of the file
            if progress is None:
                return None
            report = progress
            return lambda b: report(size if offset and b >= size else offset + min(size, b) // 2)

        first, second = half(0), half(size // 2)
        seen: dict[str, None] = {}
        for _, obj, _ in _json_lines(path, encoding, file, cfg.max_json_depth, first):
            if obj is not None:
                seen.update(dict.fromkeys(map(str, obj)))
        columns = list(seen)
        return (FileInfo("jsonl", encoding, None, columns),
                _json_batches(_json_lines(path, encoding, file, cfg.max_json_depth, second), columns,
                              cfg.batch_rows))
    try:
        text = path.read_text(encoding=encoding)
    except UnicodeDecodeError as exc:
        raise DataError(f"not valid {encoding} text: {_short(exc)}", file=file,
                        hint="set `encoding` in the mapping") from exc
    try:
        doc = json.loads(text)
    except RecursionError as exc:
        raise DataError("JSON nested too deeply", file=file, hint="flatten the export") from exc
    except json.JSONDecodeError as exc:
        raise DataError(f"invalid JSON: {exc.msg}", file=file, row=exc.lineno,
                        hint="is the file truncated? JSON Lines files need the .jsonl extension") from exc
    if _depth(doc, cfg.max_json_depth + 2) > cfg.max_json_depth + 2:
        raise DataError(f"JSON nested deeper than {cfg.max_json_depth}", file=file, hint="flatten the export")
    if isinstance(doc, dict):
        key = mapping.records_key or next((k for k, v in doc.items() if isinstance(v, list)), None)
        if key is None or not isinstance(doc.get(key), list):
            raise DataError("no list of records found in the JSON object", file=file,
                            hint="set `records_key` in the mapping")
        doc = doc[key]
    if not isinstance(doc, list):
        raise DataError("the JSON document is not a list of records", file=file, hint="export a list")
    items = [_record(obj, i, json.dumps(obj, ensure_ascii=False)[:200], file, cfg.max_json_depth)
             for i, obj in enumerate(doc, start=1)]
    seen_doc: dict[str, None] = {}
    for _, obj, _ in items:
        if obj is not None:
            seen_doc.update(dict.fromkeys(map(str, obj)))
    columns = list(seen_doc)
    if progress is not None:
        progress(path.stat().st_size)
    return FileInfo("json", encoding, None, columns), _json_batches(iter(items), columns, cfg.batch_rows)
