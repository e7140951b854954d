"""Cell-level checks and columns the validator adds, all vectorised: real calendar dates, exporters' total rows,
the ``extra`` JSON of unmapped columns, the local work date of a timestamp."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

TOTAL_WORDS = ("합계", "소계", "총계", "누계", "계", "total", "subtotal", "sum", "grand total")
_DATE_RE = r"^\s*(?P<y>\d{4})[-./]?(?P<m>\d{1,2})[-./]?(?P<d>\d{1,2})(?:$|[\sT])"
_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def impossible_dates(raw: pa.Array) -> np.ndarray:
    """True where a value starts with a year-month-day that is not on the calendar (2026-02-30, 2026.04.31,
    20260231): the strptime kernel would roll such a day into the next month, so it is checked on the text."""
    parts = pc.extract_regex(raw, _DATE_RE)
    valid = pc.is_valid(parts).to_numpy(zero_copy_only=False)
    out = np.zeros(len(raw), dtype=bool)
    if not valid.any():
        return out
    idx = np.flatnonzero(valid)
    got = parts.filter(pa.array(valid))
    y = pc.struct_field(got, "y").cast(pa.int64()).to_numpy()
    m = pc.struct_field(got, "m").cast(pa.int64()).to_numpy()
    d = pc.struct_field(got, "d").cast(pa.int64()).to_numpy()
    month_ok = (m >= 1) & (m <= 12)
    last = _DAYS[np.clip(m, 1, 12) - 1] + ((np.clip(m, 1, 12) == 2) & (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0)))
    out[idx] = ~month_ok | (d < 1) | (d > last)
    return out


def total_rows(raw: pa.Array) -> np.ndarray:
    """True where a cell is an exporter's total label (합계, 소계, Total ...), case and space insensitive."""
    folded = pc.utf8_lower(pc.utf8_trim_whitespace(raw))
    hit = pc.is_in(folded, value_set=pa.array(TOTAL_WORDS, pa.string()))
    out: np.ndarray = pc.fill_null(hit, False).to_numpy(zero_copy_only=False)
    return out


def extra_json(table: pa.Table) -> pa.Array:
    """One JSON object per row of ``table`` (the unmapped columns, values verbatim, key order as exported)."""
    if table.num_columns == 0:
        return pa.nulls(table.num_rows, pa.string())
    names = table.column_names
    cols = [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in table.columns]
    cols = [c if pa.types.is_string(c.type) else c.cast(pa.string()) for c in cols]
    out = [json.dumps(dict(zip(names, values, strict=True)), ensure_ascii=False)
           for values in zip(*(c.to_pylist() for c in cols), strict=True)]
    return pa.array(out, pa.string())


def local_dates(times: pa.Array, zone: str) -> pa.Array:
    """'YYYY-MM-DD' of each UTC timestamp in ``zone`` (the work date an export wrote)."""
    local = pc.local_timestamp(times.cast(pa.timestamp("s", tz=zone)))
    return local.cast(pa.date32()).cast(pa.string())
