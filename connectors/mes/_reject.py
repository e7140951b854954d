"""Quarantine entries of rejected rows, held column-wise until someone reads them.

An entry names the file, ``row`` (the data record, 1-based, header excluded), ``line`` (the physical line where
the record starts, header = line 1 when there is no banner), the first problem's column / field / value /
expected / ``code`` / reason, every problem, and the raw row under the export's column names.

Codes: ``invalid_date`` (not a real calendar date or time), ``invalid_number``, ``negative`` (a count below
zero), ``missing`` (a required value is empty), ``unknown_value`` (not in the enum), ``too_long``,
``total_row`` (an exporter's 합계/소계/Total line), ``end_before_start``, ``bad_field_count``, ``conflict``
(the key is stored with other values; ``stored`` and ``incoming`` hold both versions).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

Issue = tuple[str, np.ndarray, pa.Array, str, str]
"""(field, mask over the batch, the values, expected, code)."""

_REASONS = {
    "invalid_date": "not a real calendar date/time / 실제 날짜가 아님",
    "invalid_number": "not a number / 숫자가 아님",
    "negative": "a count below zero / 음수 수량",
    "missing": "required value is empty / 필수 값 없음",
    "unknown_value": "value not in the mapping's enums / 정의되지 않은 값",
    "too_long": "cell too long / 셀이 너무 김",
    "total_row": "an exporter's total row (합계/소계), not a record / 합계 행",
    "end_before_start": "end before start / 종료가 시작보다 빠름",
}


def reason(code: str, value: Any, expected: str) -> str:
    text = _REASONS.get(code, code)
    shown = value if not isinstance(value, str) or len(value) <= 80 else value[:80] + f"… ({len(value)} chars)"
    return f"{text}: {shown!r} (expected {expected})" if value is not None else f"{text} (expected {expected})"


@dataclass
class Rejected:
    """A batch's rejected rows (row numbers, the problems per field, the raw values); iterating renders one
    quarantine entry per row. A dry run only counts, so it never pays for the dicts."""

    file: str
    rows: np.ndarray
    """Physical start line of every rejected row, in batch order."""
    bad: np.ndarray
    """Batch positions of the rejected rows (ascending)."""
    issues: list[tuple[str, str, np.ndarray, pa.Array, str, str]]
    """(field, source column, batch positions, the values there, expected, code) per kind of problem."""
    raw: pa.Table
    """The rejected rows' raw values, columns named as in the export."""
    first_line: int = 0
    """Physical lines before the first data record (banner + header): record = line - first_line."""
    records: np.ndarray | None = None
    """Record number of every rejected row, when it is not ``line - first_line`` (multi-line cells)."""

    def __len__(self) -> int:
        return len(self.bad)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        per_row: dict[int, list[dict[str, Any]]] = {}
        for name, column, idx, values, expected, code in self.issues:
            for i, value in zip(idx.tolist(), values.to_pylist(), strict=True):
                per_row.setdefault(i, []).append({"column": column, "field": name, "value": value,
                                                  "expected": expected, "code": code,
                                                  "reason": reason(code, value, expected)})
        recs = self.records.tolist() if self.records is not None else [r - self.first_line for r in self.rows.tolist()]
        for i, line, rec, raw in zip(self.bad.tolist(), self.rows.tolist(), recs, self.raw.to_pylist(), strict=True):
            problems = sorted(per_row[i], key=lambda p: p["code"] != "total_row")
            first = problems[0]
            yield {"file": self.file, "row": rec, "line": line, "column": first["column"], "field": first["field"],
                   "value": first["value"], "expected": first["expected"], "code": first["code"],
                   "reason": first["reason"], "problems": problems, "raw": raw}


def rejected(bad: np.ndarray, issues: list[Issue], rows: pa.Array, file: str, table: pa.Table,
             sources: dict[str, str]) -> Rejected:
    bad_idx = np.flatnonzero(bad)
    found = []
    for name, mask, raw, expected, code in issues:
        idx = np.flatnonzero(mask)
        found.append((name, sources.get(name, name), idx, raw.take(pa.array(idx)), expected, code))
    raw_rows = table.take(pa.array(bad_idx))
    raw_rows = raw_rows.rename_columns([sources.get(c, c) for c in raw_rows.column_names])
    row_numbers = rows.to_numpy(zero_copy_only=False)[bad_idx]
    return Rejected(file, row_numbers, bad_idx, found, raw_rows)
