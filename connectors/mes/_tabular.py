"""The readers' shared types (``RawBatch``, ``FileInfo``) and the CSV/TSV reader (pyarrow: pieces parsed in
parallel, or one stream for UTF-16 and stateful encodings).

The XLSX reader lives in ``_xlsx``, JSON / JSON Lines in ``_json``. Each reader yields ``RawBatch`` es of
*string* columns named as in the export plus the source row number of every row; structural problems (a row
with the wrong number of fields, a JSON line that is not an object) come back as ready-made quarantine
entries. Typing and validation happen later, vectorised.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from factorypilot.connectors.mes._encoding import detect, normalise, sniff_binary
from factorypilot.connectors.mes._lines import last_record_end, multiline
from factorypilot.connectors.mes.config import MappingConfig, MesFilesConfig
from factorypilot.errors import DataError

Progress = Callable[[int], None]
"""Called with the number of bytes read so far."""


@dataclass
class RawBatch:
    table: pa.Table
    rows: pa.Array
    """Source row (physical line) of every row; relative to the batch's own first line when ``lines`` is set."""
    rejects: list[dict[str, Any]] = field(default_factory=list)
    blank: int = 0
    lines: int | None = None
    """Physical lines the batch spans, when its row numbers are relative (a piece of a CSV file parsed on
    its own): its line k is line ``before + base + k`` of the file, ``before`` counting all earlier batches'
    lines."""
    base: int = 0
    multiline: tuple[np.ndarray, np.ndarray] | None = None
    """Records with line feeds inside quoted cells: (0-based index in the piece, extra line feeds)."""


@dataclass
class FileInfo:
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    columns: list[str] = field(default_factory=list)
    detail: str = ""
    verdict: dict[str, Any] = field(default_factory=dict)
    """B2MML: the schema verdict (``schema_valid``, ``schema``, ``schema_violations``) when validated."""


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
    if mapping.encoding and not head.startswith(b"\xef\xbb\xbf"):
        encoding = normalise(mapping.encoding)
    else:  # a UTF-8 byte order mark is decisive, whatever the mapping says
        encoding = detect(head, file)
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


_SPLITTABLE = frozenset({"utf-8", "utf-8-sig", "cp949", "ascii", "latin-1", "cp1252", "iso8859-1",
                         "iso8859-15", "gb18030", "gbk", "big5", "shift_jis", "cp932", "euc_jp"})
"""Encodings in which byte 0x0A only ever means a line feed (ASCII-compatible, stateless): a file in one of
them can be cut after any 0x0A and the pieces parsed on their own. UTF-16 (Excel's "Unicode text") and
stateful encodings are read as one stream instead."""

_CHUNK_MIN = 64
_CHUNK_MAX = 16 << 20
_LINE_MAX = 64 << 20

Deferred = Callable[[], RawBatch]
"""A batch still to be parsed (on a worker thread); calling it parses."""


def read_csv(path: Path, mapping: MappingConfig, cfg: MesFilesConfig, info: FileInfo,
             progress: Progress | None = None) -> Iterator[RawBatch | Deferred]:
    """The file's rows in batches. Where the encoding allows, the file is cut into pieces at line ends and
    each piece is parsed by whoever calls it (the ingest workers, in parallel); rows are then numbered
    relative to their piece (``RawBatch.lines``) and the ingest adds the lines before it. Otherwise one
    streaming parse on this thread, numbered absolutely."""
    encoding = info.encoding or "utf-8"
    first = mapping.skip_rows + mapping.header_rows  # physical rows before the data
    layout = _layout(path, first, encoding, cfg.batch_rows) if encoding in _SPLITTABLE else None
    if layout is None:
        yield from _read_stream(path, cfg, info, first, progress)
        return
    yield from _read_pieces(path, info, first, *layout, progress)


def _layout(path: Path, lines: int, encoding: str, rows: int) -> tuple[int, int] | None:
    """Where the data starts and how many bytes make a piece, from the file's first 1 MB; None if the header
    is not all in it.

    The data starts just after the first ``lines`` physical lines (LF, CRLF or a lone CR end a line, as for
    Arrow's parser) and a UTF-8 BOM. A piece is about ``rows`` rows, judged by the average length of the lines
    in the first 64 kB of data."""
    with path.open("rb") as fh:
        head = fh.read(1 << 20)
    pos = 3 if encoding in ("utf-8", "utf-8-sig") and head.startswith(b"\xef\xbb\xbf") else 0
    for _ in range(lines):
        lf, cr = head.find(b"\n", pos), head.find(b"\r", pos)
        if lf < 0 and cr < 0:
            if len(head) == 1 << 20:
                return None
            pos = len(head)  # a file of header lines only
            break
        if cr >= 0 and (lf < 0 or cr < lf):
            if cr + 1 == len(head) and len(head) == 1 << 20:
                return None  # CR at the edge of the sample: cannot tell whether LF follows
            pos = cr + 2 if head[cr + 1: cr + 2] == b"\n" else cr + 1
        else:
            pos = lf + 1
    sample = head[pos: pos + (1 << 16)]
    per_line = len(sample) / max(1, sample.count(b"\n"))
    return pos, int(min(_CHUNK_MAX, max(_CHUNK_MIN, rows * per_line)))


def _read_pieces(path: Path, info: FileInfo, first: int, start: int, size: int,
                 progress: Progress | None) -> Iterator[Deferred]:
    base = first  # lines before the first piece; each later piece follows the one before it
    with pa.OSFile(str(path), "rb") as source:
        total = source.size()
        offset = start
        while offset < total:
            want = size
            while True:
                source.seek(offset)
                block = source.read_buffer(want)
                cut = _last_line_end(block)
                if offset + len(block) >= total:  # the rest of the file (it may not end with a line feed)
                    cut = len(block)
                if cut or want >= total - offset:
                    break
                if want >= _LINE_MAX:
                    raise DataError(f"no line end in the {want >> 20} MB from byte {offset:,}", file=str(path),
                                    hint="is this a CSV export? (a line this long is not a table row)")
                want *= 2  # a line longer than the piece: take a bigger piece
            piece = block.slice(0, cut or len(block))
            yield _Piece(str(path), info, piece, offset, base)
            base = 0
            offset += len(piece)
            if progress is not None:
                progress(offset)


def _last_line_end(block: pa.Buffer) -> int:
    """Length of ``block`` up to and including its last line feed that ends a record (not one inside a quoted
    cell), or 0 if it has none. The block starts at a record boundary, so quote parity tells."""
    view = np.frombuffer(block, dtype=np.uint8)
    if (view == 0x22).any():
        return last_record_end(view)
    tail = 4096
    while True:
        hits = np.flatnonzero(view[-tail:] == 0x0A)
        if len(hits):
            return len(view) - min(tail, len(view)) + int(hits[-1]) + 1
        if tail >= len(view):
            return 0
        tail *= 8


def _options(info: FileInfo, file: str, invalid: list[dict[str, Any]], encoding: str, **read: Any) -> dict[str, Any]:
    import pyarrow.csv as pcsv

    def on_invalid(row: Any) -> str:
        line = int(row.number) if row.number is not None else None  # physical line (skipped rows count)
        invalid.append({"file": file, "row": line, "column": None, "field": None, "value": row.text[:200],
                        "expected": f"{row.expected_columns} fields", "reason":
                        f"row has {row.actual_columns} fields, the header has {row.expected_columns}",
                        "problems": [], "raw": {}})
        return "skip"

    return {
        "read_options": pcsv.ReadOptions(column_names=info.columns, use_threads=False, encoding=encoding, **read),
        "parse_options": pcsv.ParseOptions(delimiter=info.delimiter or ",", invalid_row_handler=on_invalid,
                                           ignore_empty_lines=False, newlines_in_values=False),
        "convert_options": pcsv.ConvertOptions(column_types={c: pa.string() for c in info.columns},
                                               strings_can_be_null=False, quoted_strings_can_be_null=False)}


_PARSE_HINT = "check the delimiter/encoding (set them in the mapping) or whether the file is truncated"


class PieceError(DataError):
    """A piece of a CSV file could not be parsed. The piece does not know its line numbers; whoever settles
    pieces in file order does, and turns this into a DataError naming the row with ``at``."""

    def __init__(self, reason: str, file: str, offset: int, base: int, bad_byte: int | None = None) -> None:
        super().__init__(f"cannot parse CSV in the bytes from offset {offset:,}: {reason}", file=file,
                         hint=_PARSE_HINT)
        self.reason, self.offset, self.base, self.bad_byte = reason, offset, base, bad_byte

    def at(self, before: int, first: int = 0) -> DataError:
        """The error with its record, given the lines before the piece (its ``base`` aside) and before the data:
        the parser names the row inside the piece ('Row #N'), so the record is exact, else the piece start."""
        found = re.search(r"Row #(\d+)", self.reason)
        line = before + self.base + (int(found.group(1)) if found else 1)
        where = "at" if found else "at or after"
        byte = self.bad_byte if self.bad_byte is not None else self.offset
        return DataError(f"cannot parse CSV {where} record {line - first} (line {line}, byte offset {byte:,}): "
                         f"{self.reason}", file=self.file, row=line, hint=_PARSE_HINT)


@dataclass
class _Piece:
    """Whole lines of a CSV file (bytes ``offset`` to ``offset + len(data)``), parsed when called."""

    def _bad_byte(self, encoding: str) -> int | None:
        """File offset of the first byte the encoding cannot decode in this piece, if that is the problem."""
        try:
            self.data.to_pybytes().decode("utf-8" if encoding == "utf-8-sig" else encoding)
        except UnicodeDecodeError as exc:
            return self.offset + exc.start
        except LookupError:
            return None
        return None

    file: str
    info: FileInfo
    data: pa.Buffer
    offset: int
    base: int

    def __call__(self) -> RawBatch:
        import pyarrow.csv as pcsv

        invalid: list[dict[str, Any]] = []
        encoding = self.info.encoding or "utf-8"
        options = _options(self.info, self.file, invalid, "utf-8" if encoding == "utf-8-sig" else encoding,
                           block_size=min(len(self.data) + 1, 2**31 - 1))
        try:
            table = pcsv.read_csv(pa.BufferReader(self.data), **options)
        except (pa.ArrowInvalid, UnicodeDecodeError, ValueError) as exc:
            raise PieceError(short(exc), self.file, self.offset, self.base, self._bad_byte(encoding)) from exc
        batch = _number(table.combine_chunks(), 0, 0, invalid, invalid)
        batch.lines = table.num_rows + len(invalid)
        batch.base = self.base
        found = multiline(self.data)
        if len(found[0]):
            batch.multiline = found
        return batch


def _read_stream(path: Path, cfg: MesFilesConfig, info: FileInfo, first: int,
                 progress: Progress | None) -> Iterator[RawBatch]:
    import pyarrow.csv as pcsv

    from factorypilot.connectors.mes._lines import Undecodable, locate, scan_decoded

    file = str(path)
    encoding = info.encoding or "utf-8"
    # Arrow numbers records, not lines: the records whose quoted cells span lines, from the decoded text; a byte
    # the encoding cannot decode is found here too, with its record, line and offset
    try:
        multiline = scan_decoded(path, encoding, first)
    except Undecodable as exc:
        record, line = locate(path, encoding, first, exc.offset)
        raise DataError(f"cannot decode the file as {encoding} at record {record} (line {line}, byte offset "
                        f"{exc.offset:,}): {exc.reason}", file=file, row=line, hint=_PARSE_HINT) from None
    invalid: list[dict[str, Any]] = []
    options = _options(info, file, invalid, info.encoding or "utf-8", skip_rows=first, block_size=4 << 20)
    emitted = 0
    seen_invalid = 0
    # a native Arrow file, not a Python file object: reads land in Arrow's pool (huge pages) instead of a new
    # Python bytes object per read, which cost a page fault per 4 kB (~0.2 s per 60 MB on a VM)
    with pa.OSFile(file, "rb") as source:
        try:
            reader = pcsv.open_csv(source, **options)
            for batch in _rebatch(reader, cfg.batch_rows):
                if progress is not None:
                    progress(source.tell())
                new_invalid = invalid[seen_invalid:]
                seen_invalid = len(invalid)
                numbered = _number(pa.Table.from_batches([batch]), emitted, first, new_invalid, invalid)
                if not emitted and len(multiline[0]):
                    numbered.multiline = multiline  # for the whole file, with its first batch
                yield numbered
                emitted += batch.num_rows
        except (pa.ArrowInvalid, UnicodeDecodeError, ValueError) as exc:
            raise DataError(f"cannot parse CSV at or after row {first + emitted + 1}: {short(exc)}", file=file,
                            hint=_PARSE_HINT) from exc
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


def _number(table: pa.Table, emitted: int, first: int, new_invalid: list[dict[str, Any]],
            all_invalid: list[dict[str, Any]]) -> RawBatch:
    """Physical line numbers of a batch's rows: the k-th line after the header that was not skipped as invalid.

    With ``I`` the sorted invalid line numbers, valid row ``k`` (0-based over the file) sits on line
    ``first + 1 + k + j`` where ``j`` counts the invalid lines before it: ``j = searchsorted(I - first - 1 -
    arange(len(I)), k, 'right')``. Vectorised, so thousands of bad rows cost nothing per batch.
    """
    k = np.arange(emitted, emitted + table.num_rows, dtype=np.int64)
    lines = np.sort(np.array([e["row"] for e in all_invalid if e["row"] is not None], dtype=np.int64))
    before = lines - first - 1 - np.arange(len(lines), dtype=np.int64)
    pos = first + 1 + k + np.searchsorted(before, k, side="right")
    invalid = new_invalid
    blank_mask = np.zeros(table.num_rows, dtype=bool)
    if table.num_columns and pc.any(pc.equal(table.column(0), "")).as_py():  # cheap pre-check on one column
        blank_mask[:] = True
        for col in table.columns:
            blank_mask &= pc.equal(col.combine_chunks(), "").to_numpy(zero_copy_only=False)
    blank = int(blank_mask.sum())
    if blank:
        table = table.filter(pa.array(~blank_mask))
        pos = pos[~blank_mask]
    return RawBatch(table, pa.array(pos), invalid, blank)
