"""Physical line numbers of CSV records when quoted cells span lines.

The CSV parser numbers records, not lines: a record whose quoted 비고 holds two line feeds makes every later record
start two lines further down than its number says. Each parsed piece reports its multi-line records
(``multiline``: record index in the piece, extra line feeds); the ingest, which settles pieces in file order,
collects them here and turns "record lines" (record number + lines before the data) into physical start lines.
Files in encodings that cannot be cut at 0x0A bytes (UTF-16, stateful ones) are read as one stream; for them
``scan_decoded`` finds the multi-line records in the decoded text instead.
"""

from __future__ import annotations

import codecs
from bisect import bisect_left
from pathlib import Path

import numpy as np


def multiline(data: memoryview | bytes, view: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(0-based record index, extra line feeds) of the records of ``data`` (whole records, starting at a record
    boundary) whose quoted cells contain line feeds."""
    v = view if view is not None else np.frombuffer(data, dtype=np.uint8)
    quotes = np.flatnonzero(v == 0x22)
    if not len(quotes):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lf = np.flatnonzero(v == 0x0A)
    inside = (np.searchsorted(quotes, lf) % 2).astype(bool)  # odd number of quotes before: inside a cell
    if not inside.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    record_of_lf = np.cumsum(~inside) - (~inside)  # record ends seen before each line feed
    records, extra = np.unique(record_of_lf[inside], return_counts=True)
    return records.astype(np.int64), extra.astype(np.int64)


def scan_decoded(path: Path, encoding: str, first: int, chunk: int = 1 << 20) -> tuple[np.ndarray, np.ndarray]:
    """``multiline`` for a whole file in any encoding: decoded in chunks (UTF-16's 0x0A bytes are not line
    feeds), re-encoded as UTF-8, the quote parity and the record count carried from chunk to chunk. The first
    ``first`` lines (banner and header) are skipped. Records are 0-based from the first data record."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    skip, inside, records_before = first, False, 0
    found: dict[int, int] = {}
    fed = 0
    with path.open("rb") as fh:
        while True:
            raw = fh.read(chunk)
            pending = decoder.getstate()[0]
            try:
                text = decoder.decode(raw, final=not raw)
            except UnicodeDecodeError as exc:  # the bytes before it decoded: the error is at this file offset
                raise Undecodable(fed - len(pending) + exc.start, exc.reason) from exc
            fed += len(raw)
            while skip and text:  # the lines before the data
                at = text.find("\n")
                if at < 0:
                    text = ""
                    break
                text, skip = text[at + 1:], skip - 1
            if text:
                v = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
                quotes = np.flatnonzero(v == 0x22)
                lf = np.flatnonzero(v == 0x0A)
                odd = (np.searchsorted(quotes, lf) + int(inside)) % 2 == 1  # inside a quoted cell
                ends = ~odd
                record_of_lf = records_before + np.cumsum(ends) - ends
                for r, n in zip(*np.unique(record_of_lf[odd], return_counts=True), strict=True):
                    found[int(r)] = found.get(int(r), 0) + int(n)
                records_before += int(ends.sum())
                inside = (int(inside) + len(quotes)) % 2 == 1
            if not raw:
                break
    keys = sorted(found)
    return np.array(keys, np.int64), np.array([found[k] for k in keys], np.int64)


class Undecodable(Exception):
    """A byte the file's encoding cannot decode, at ``offset`` (from the start of the file)."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"byte offset {offset}: {reason}")
        self.offset, self.reason = offset, reason


def locate(path: Path, encoding: str, first: int, offset: int) -> tuple[int, int]:
    """(data record, physical line) that byte ``offset`` of ``path`` falls in (records 1-based after the ``first``
    lines; a line feed inside a quoted cell does not end a record)."""
    with path.open("rb") as fh:
        text = fh.read(offset).decode(encoding, errors="replace").lstrip("\ufeff")
    line = text.count("\n") + 1
    data = text.split("\n", first)[first] if text.count("\n") >= first else ""
    v = np.frombuffer(data.encode("utf-8"), dtype=np.uint8)
    quotes, lf = np.flatnonzero(v == 0x22), np.flatnonzero(v == 0x0A)
    ends = int((np.searchsorted(quotes, lf) % 2 == 0).sum())
    return ends + 1, line


def last_record_end(v: np.ndarray) -> int:
    """Length of ``v`` up to and including its last line feed outside quotes (0 if none)."""
    lf = np.flatnonzero(v == 0x0A)
    if not len(lf):
        return 0
    quotes = np.flatnonzero(v == 0x22)
    if len(quotes):
        lf = lf[np.searchsorted(quotes, lf) % 2 == 0]
    return int(lf[-1]) + 1 if len(lf) else 0


class FileLines:
    """The multi-line records of one file so far (absolute 1-based record numbers, ascending)."""

    def __init__(self, first: int) -> None:
        self.first = first
        self._starts: list[int] = []
        self._cum: list[int] = [0]  # extra line feeds of the multi-line records before index i

    def add(self, records_before: int, rel: np.ndarray, extra: np.ndarray) -> None:
        for r, e in zip((rel + records_before + 1).tolist(), extra.tolist(), strict=True):
            self._starts.append(r)
            self._cum.append(self._cum[-1] + e)

    def __bool__(self) -> bool:
        return bool(self._starts)

    def lines(self, record_lines: np.ndarray) -> np.ndarray:
        """Record lines (record number + ``first``) -> physical start lines."""
        if not self._starts:
            return record_lines
        before = np.searchsorted(np.array(self._starts), record_lines - self.first, side="left")
        out: np.ndarray = record_lines + np.array(self._cum)[before]
        return out

    def record_of(self, line: int) -> int:
        """The record number (1-based) that starts on physical ``line``."""
        lo, hi = 1, max(1, line - self.first)
        while lo < hi:
            mid = (lo + hi) // 2
            if mid + self.first + self._cum[bisect_left(self._starts, mid)] < line:
                lo = mid + 1
            else:
                hi = mid
        return lo
