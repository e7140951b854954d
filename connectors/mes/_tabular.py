"""The readers' shared types (``RawBatch``, ``FileInfo``) and the CSV/TSV reader (pyarrow streaming).

The XLSX reader lives in ``_xlsx``, JSON / JSON Lines in ``_json``. Each reader yields ``RawBatch`` es of
*string* columns named as in the export plus the source row number of every row; structural problems (a row
with the wrong number of fields, a JSON line that is not an object) come back as ready-made quarantine
entries. Typing and validation happen later, vectorised.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


def join_headers(header_rows: list[list[str]]) -> list[str]:
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
    return FileInfo("csv", encoding, delimiter, join_headers(headers))


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
    # a native Arrow file, not a Python file object: reads land in Arrow's pool (huge pages) instead of a new
    # Python bytes object per read, which cost a page fault per 4 kB (~0.2 s per 60 MB on a VM)
    with pa.OSFile(str(path), "rb") as source:
        try:
            reader = pcsv.open_csv(source, read_options=read, parse_options=parse, convert_options=conv)
            pending: pa.RecordBatch | None = None
            for batch in _rebatch(reader, cfg.batch_rows):
                if progress is not None:
                    progress(source.tell())
                pending = batch
                new_invalid = invalid[seen_invalid:]
                seen_invalid = len(invalid)
                yield _number(pending, emitted, first, new_invalid, invalid)
                emitted += pending.num_rows
        except (pa.ArrowInvalid, UnicodeDecodeError, ValueError) as exc:
            raise DataError(f"cannot parse CSV at or after row {first + emitted + 1}: {short(exc)}", file=file,
                            hint="check the delimiter/encoding (set them in the mapping) or whether the file "
                                 "is truncated") from exc
    if invalid[seen_invalid:]:
        yield RawBatch(pa.table({c: pa.array([], pa.string()) for c in info.columns}), pa.array([], pa.int64()),
                       invalid[seen_invalid:])


def short(exc: BaseException) -> str:
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
