"""Vectorised validation: string columns in, typed columns + quarantine entries out.

No Python loop touches good rows: casts are pyarrow compute kernels (or numpy on the same buffers), a
boolean mask marks bad cells, and only the bad rows are turned into quarantine entries (file, row, column,
value, expected type, reason). De-duplication keys are the store's job (built in SQL while merging), so a
validate-only run does not pay for them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from factorypilot.connectors.mes._cells import extra_json, impossible_dates, local_dates, total_rows
from factorypilot.connectors.mes._reject import Issue, Rejected, rejected
from factorypilot.connectors.mes._shifts import shifts as _shifts
from factorypilot.connectors.mes._zones import fixed_since
from factorypilot.connectors.mes.config import MappingConfig, MesFilesConfig
from factorypilot.connectors.mes.records import DEFAULT_ENUMS, FIELDS, MODELS, NON_NEGATIVE, FieldType, RecordKind

ROW = "__row__"
"""Column of a batch: the line of each record (the record line while parsing; the physical start line once the
ingest knows the file's multi-line records)."""
RECORD = "__record__"
"""Column the ingest adds before storing: the data record number (1-based, after banner and header rows)."""
_UTC = pa.timestamp("s", tz="UTC")
_ARROW: dict[FieldType, pa.DataType] = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(),
                                        "datetime": _UTC}
_INT_RE = r"^[+-]?\d{1,18}$"
_FLOAT_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


@dataclass
class Checked:
    """A validated batch: typed records (with the source row number in ``__row__``) and rejects."""

    table: pa.Table
    quarantined: Rejected | None = None

    @property
    def rejected(self) -> int:
        return 0 if self.quarantined is None else len(self.quarantined)


def arrow_schema(kind: RecordKind) -> pa.Schema:
    cols = [pa.field(name, _ARROW[t]) for name, (t, _) in FIELDS[kind].items()]
    if kind in (RecordKind.PRODUCTION, RecordKind.SCRAP):
        cols.append(pa.field("shift_date", pa.string()))
    return pa.schema([*cols, pa.field("extra", pa.string()), pa.field(ROW, pa.int64())])


_SPACE_LEADS = (b"\xc2", b"\xe1", b"\xe2", b"\xe3")
"""First bytes of the UTF-8 encodings of every non-ASCII character Arrow's ``utf8_trim_whitespace`` trims
(U+0085, U+00A0, U+1680, U+2000-U+205F, U+3000); the ASCII ones are all <= 0x20. A test checks this against
Arrow for every code point."""


def _text(arr: pa.Array) -> np.ndarray:
    """The bytes of all of a string array's values, back to back (a view, no copy)."""
    if len(arr) == 0 or arr.null_count == len(arr) or arr.buffers()[2] is None:
        return np.zeros(0, dtype=np.uint8)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=len(arr) + 1, offset=arr.offset * 4)
    start, end = int(offsets[0]), int(offsets[-1])
    return np.frombuffer(arr.buffers()[2], dtype=np.uint8, count=end - start, offset=start)


def _may_be_padded(arr: pa.Array) -> bool:
    """False when no value can start or end with white space: the column's bytes hold no byte <= 0x20 and
    none that starts a Unicode space. Two scans of the text bytes (~1 ms per 10 MB) instead of a trim that
    copies every value (~9 ms); a column with inner spaces ('Line A') just takes the trim."""
    text = _text(arr)
    if bool((text <= 0x20).any()):
        return True
    raw = text.tobytes()
    return any(lead in raw for lead in _SPACE_LEADS)


def _coalesce(first: pa.Array, second: pa.Array) -> pa.Array:
    if first.null_count == 0:
        return first
    return second if first.null_count == len(first) else pc.coalesce(first, second)


def _valid_where(arr: pa.Array, keep: pa.Array) -> pa.Array:
    """``arr`` with nulls where ``keep`` is false (``keep`` is false wherever ``arr`` is null). Zero-copy: the
    values stay, only the validity bitmap is swapped."""
    if arr.offset == 0 and keep.offset == 0 and keep.null_count == 0:
        bufs = arr.buffers()
        return pa.Array.from_buffers(arr.type, len(arr), [keep.buffers()[1], *bufs[1:]])
    return pc.if_else(keep, arr, pa.scalar(None, arr.type))


def _string(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    return arr if pa.types.is_string(arr.type) else arr.cast(pa.string())


def _clean(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Trimmed text, empty -> null."""
    arr = _string(col)
    if _may_be_padded(arr):
        arr = pc.utf8_trim_whitespace(arr)
    if arr.null_count == 0 and len(arr) and arr.offset == 0:
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=len(arr) + 1)
        if np.diff(offsets).all():  # no empty value: nothing to null (the usual case)
            return arr
    keep = pc.fill_null(pc.not_equal(arr, ""), False)
    return arr if pc.all(keep).as_py() else _valid_where(arr, keep)


@dataclass
class _Times:
    """Parsed timestamps (UTC) and, where known, the wall-clock seconds they were written in (naive local
    time in the mapping's zone), which the shift derivation reuses instead of converting back."""

    utc: pa.Array
    wall: np.ndarray
    wall_known: np.ndarray


_ISO_PAIR = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def _iso_fast(arr: pa.Array, mapping: MappingConfig) -> pa.Array | None:
    """Naive timestamps via Arrow's ISO-8601 cast (~3.5x faster than strptime), or None to take the general path.

    Exact only under these conditions: the mapping tries 'YYYY-MM-DD hh:mm:ss' first and accepts the 'T' form
    too (the defaults do), every value is 19 bytes (so the cast can only see those two forms), and the cast
    succeeds for all of them (one bad value sends the whole batch down the general path).
    """
    formats = [f for f in mapping.timestamp_formats if "%z" not in f]
    if not formats or formats[0] not in _ISO_PAIR or not set(_ISO_PAIR) <= set(formats):
        return None
    lengths = pc.min_max(pc.binary_length(arr)).as_py()
    if lengths["min"] != 19 or lengths["max"] != 19:
        return None
    try:
        return arr.cast(pa.timestamp("s"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _to_utc(naive: pa.Array, zone: str) -> pa.Array:
    """Local wall-clock timestamps in ``zone`` -> UTC. Where the zone's offset cannot change over the batch's
    times (see ``_zones.fixed_since``) that is one subtraction; otherwise Arrow's rule lookup per value
    (ambiguous and non-existent local times resolve to the earlier instant)."""
    seconds = naive.cast(pa.int64())
    first = pc.min(seconds).as_py()
    since = fixed_since(zone)
    if first is not None and since is not None and first - 2 * 86_400 > since:  # 2 days: any offset, + margin
        probe = pc.assume_timezone(pa.array([first], pa.timestamp("s")), timezone=zone)
        offset = first - probe.cast(pa.int64())[0].as_py()
        return pc.subtract(seconds, offset).cast(_UTC)
    return pc.assume_timezone(naive, timezone=zone, ambiguous="earliest", nonexistent="earliest").cast(_UTC)


def _parse_time(arr: pa.Array, mapping: MappingConfig, naive: pa.Array | None = None) -> _Times:
    """Try each format only on the rows no earlier format could read (the common case: one pass).
    ``naive``: the values already read by ``_iso_fast``."""
    naive = naive if naive is not None else _iso_fast(arr, mapping)
    if naive is not None:
        wall = pc.fill_null(naive.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
        return _Times(_to_utc(naive, mapping.timezone), wall, np.ones(len(arr), dtype=bool))
    n = len(arr)
    seconds = np.zeros(n, dtype=np.int64)
    wall = np.zeros(n, dtype=np.int64)
    have = np.zeros(n, dtype=bool)
    wall_known = np.zeros(n, dtype=bool)
    todo = np.flatnonzero(pc.is_valid(arr).to_numpy(zero_copy_only=False))

    def attempt(sub: pa.Array, fmt: str, zone: str | None) -> None:
        nonlocal todo
        naive = pc.strptime(sub, format=fmt, unit="s", error_is_null=True)
        ts = naive if zone is None else _to_utc(naive, zone)
        got = pc.is_valid(ts).to_numpy(zero_copy_only=False)
        if got.any():
            idx = todo[got]
            seconds[idx] = pc.fill_null(ts.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)[got]
            have[idx] = True
            if zone is not None:
                wall[idx] = pc.fill_null(naive.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)[got]
                wall_known[idx] = True
            todo = todo[~got]

    for fmt in (f for f in mapping.timestamp_formats if "%z" not in f):
        if not len(todo):
            break
        attempt(arr if len(todo) == n else pc.take(arr, pa.array(todo)), fmt, mapping.timezone)
    if len(todo):  # ISO 8601 with an offset or Z (B2MML xs:dateTime, JSON exports)
        iso = pc.replace_substring_regex(pc.take(arr, pa.array(todo)), pattern=r"Z$", replacement="+0000")
        iso = pc.replace_substring_regex(iso, pattern=r"([+-]\d\d):(\d\d)$", replacement=r"\1\2")
        iso = pc.replace_substring_regex(iso, pattern=r"\.\d+([+-]\d{4})$", replacement=r"\1")
        for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z"):
            if not len(todo):
                break
            before = todo
            attempt(iso, fmt, None)
            if len(todo) != len(before):
                iso = pc.take(iso, pa.array(np.flatnonzero(np.isin(before, todo))))
    return _Times(pa.array(seconds, type=pa.int64(), mask=~have).cast(_UTC), wall, wall_known | ~have)


def _cast(arr: pa.Array, ftype: FieldType, name: str, mapping: MappingConfig) -> pa.Array:
    if ftype == "str":
        return arr
    if ftype == "datetime":
        return _parse_time(arr, mapping).utc
    has_comma = bool((_text(arr) == ord(",")).any())  # thousands separators: '1,200'
    num = pc.replace_substring(arr, pattern=",", replacement="") if has_comma else arr
    if ftype == "int":
        val = _int(num)
    else:
        ok = pc.match_substring_regex(num, _FLOAT_RE)
        val = pc.if_else(ok, num, pa.scalar(None, pa.string())).cast(pa.float64())
    factor = mapping.scale.get(name)
    if factor is not None and factor != 1:
        val = pc.multiply(val.cast(pa.float64()), factor)
        if ftype == "int":
            val = pc.round(val).cast(pa.int64())
    return val


def _any(mask: pa.Array) -> bool:
    return bool(pc.any(mask).as_py())


def _int(num: pa.Array) -> pa.Array:
    """Strings -> int64, null where not an integer. Plain digit strings take a cheap kernel; only the rest
    (signs, '12.0', junk) go through the regex."""
    ok = _plain_digits(num)
    rest = pc.fill_null(pc.and_(pc.is_valid(num), pc.invert(ok)), False)
    if _any(rest):
        sub = pc.filter(num, rest)
        sub = pc.replace_substring_regex(sub, pattern=r"\.0+$", replacement="")
        sub_ok = pc.match_substring_regex(sub, _INT_RE)
        if _any(sub_ok):  # usually the rest is junk ('불량입력'): nothing to put back
            sub = pc.replace_substring_regex(sub, pattern=r"^\+", replacement="")  # Arrow's cast refuses '+5'
            num = pc.replace_with_mask(num, rest, sub)
            ok = pc.replace_with_mask(ok, rest, sub_ok)
    if pc.all(ok).as_py():
        return num.cast(pa.int64())
    return _valid_where(num, ok).cast(pa.int64())  # the cast reads only valid slots


def _plain_digits(num: pa.Array) -> pa.Array:
    """True where a value is 1-18 ASCII digits (false where null). Read off the raw bytes: a non-digit byte
    marks the value it falls in (found from the offsets), so the cost is one pass over the text."""
    if len(num) == 0:
        return pa.array([], pa.bool_())
    offsets = np.frombuffer(num.buffers()[1], dtype=np.int32, count=len(num) + 1, offset=num.offset * 4)
    lengths = np.diff(offsets)
    ok = (lengths > 0) & (lengths <= 18)
    if num.null_count:
        ok &= pc.is_valid(num).to_numpy(zero_copy_only=False)
    text = _text(num)
    stray = np.flatnonzero((text - np.uint8(0x30)) > 9)  # bytes outside '0'-'9' (uint8 arithmetic wraps)
    if len(stray):
        ok[np.searchsorted(offsets[1:] - offsets[0], stray, side="right")] = False
    return pa.array(ok)


def _too_long(raw: pa.Array, limit: int) -> pa.Array | None:
    """Mask of values over ``limit`` characters, or None. UTF-8 has >= 1 byte per character, so when no value
    has more than ``limit`` bytes (the usual case, read off the offsets) no character count is needed."""
    longest = pc.max(pc.binary_length(raw)).as_py()
    if longest is None or longest <= limit:
        return None
    mask = pc.fill_null(pc.greater(pc.utf8_length(raw), limit), False)
    return mask if _any(mask) else None


def check(table: pa.Table, rows: pa.Array, kind: RecordKind, mapping: MappingConfig, cfg: MesFilesConfig,
          file: str, sources: dict[str, str] | None = None, extra: pa.Table | None = None) -> Checked:
    """Validate ``table`` (string columns named by canonical field) against ``kind``.

    ``sources`` maps canonical field -> source column name, so quarantine entries name the export's column;
    ``extra``: the batch's unmapped columns, kept verbatim as JSON in the record's ``extra``.
    """
    n = table.num_rows
    bad = np.zeros(n, dtype=bool)
    issues: list[Issue] = []
    typed: dict[str, pa.Array] = {}
    wall: np.ndarray | None = None  # local wall-clock seconds of "time", when the parser knows them
    must = set(mapping.required)
    date_only: pa.Array | None = None  # rows whose time is a date without a time of day (a work date)
    enums = {**DEFAULT_ENUMS.get(kind, {}), **mapping.enums}
    for name, (ftype, required) in FIELDS[kind].items():
        naive = None
        if name in table.column_names:
            if ftype == "datetime" and name not in enums:  # all clean ISO text: no trim needed
                naive = _iso_fast(_string(table[name]), mapping)
            raw = _string(table[name]) if naive is not None else _clean(table[name])
        elif name in mapping.constants:
            raw = pa.array([mapping.constants[name]] * n, pa.string())
        else:
            raw = pa.nulls(n, pa.string())
        if name in ("time", "start", "equipment") and raw.null_count < n and ftype in ("datetime", "str"):
            totals = total_rows(raw)
            if totals.any():
                issues.append((name, totals, raw, "a record, not a total line", "total_row"))
        too_long = _too_long(raw, cfg.max_field_chars)
        if too_long is not None:
            issues.append((name, too_long.to_numpy(zero_copy_only=False), raw,
                           f"text of at most {cfg.max_field_chars} characters", "too_long"))
            raw = pc.if_else(too_long, pa.scalar(None, pa.string()), raw)
        enum = enums.get(name)
        if enum and raw.null_count < n:
            folded = enum if name in mapping.enums else {k.lower(): v for k, v in enum.items()}
            keys = pa.array(list(folded), pa.string())
            probe = raw if name in mapping.enums else pc.utf8_lower(raw)
            idx = pc.index_in(probe, value_set=keys)
            unknown = pc.and_(pc.is_valid(raw), pc.is_null(idx))
            if pc.any(unknown).as_py():
                issues.append((name, unknown.to_numpy(zero_copy_only=False), raw,
                               "one of " + ", ".join(list(mapping.enums.get(name, enum))[:12]), "unknown_value"))
            raw = pc.take(pa.array(list(folded.values()), pa.string()), idx)
        if ftype == "datetime":
            if name == "time" and naive is None:
                date_only = pc.fill_null(pc.less_equal(pc.utf8_length(raw), 10), False)
            parsed = _parse_time(raw, mapping, naive)
            value = parsed.utc
            if naive is None and raw.null_count < n:
                impossible = impossible_dates(raw)
                if impossible.any():
                    issues.append((name, impossible, raw, "a real calendar date", "invalid_date"))
                    value = pc.if_else(pa.array(impossible), pa.scalar(None, value.type), value)
            if name == "time" and mapping.timezone == cfg.shift_timezone and parsed.wall_known.all():
                wall = parsed.wall
        else:
            value = _cast(raw, ftype, name, mapping)
        if value.null_count > raw.null_count:  # a value that could not be read (its text is not null)
            failed = pc.and_(pc.is_valid(raw), pc.is_null(value))
            code = "invalid_date" if ftype == "datetime" else "invalid_number"
            issues.append((name, failed.to_numpy(zero_copy_only=False), raw, ftype, code))
        if name in NON_NEGATIVE and ftype in ("int", "float") and value.null_count < n:
            negative = pc.fill_null(pc.less(value, 0), False)
            if _any(negative):
                issues.append((name, negative.to_numpy(zero_copy_only=False), raw, f"{ftype} >= 0", "negative"))
        if (required or name in must) and raw.null_count:
            issues.append((name, pc.is_null(raw).to_numpy(zero_copy_only=False), raw, f"{ftype} (required)",
                           "missing"))
        default = MODELS[kind].model_fields[name].default
        if isinstance(default, int | float) and not isinstance(default, bool) and value.null_count:
            value = pc.fill_null(value, default)
        typed[name] = value
    if kind is RecordKind.DOWNTIME:
        start, end = typed["start"], typed["end"]
        backwards = pc.fill_null(pc.less(end, start), False)
        if pc.any(backwards).as_py():
            issues.append(("end", backwards.to_numpy(zero_copy_only=False), end.cast(pa.string()),
                           "datetime not before start", "end_before_start"))
        span = pc.divide(pc.seconds_between(start, end).cast(pa.float64()), 60.0)
        typed["minutes"] = _coalesce(typed["minutes"], span)
    for _, mask, _, _, _ in issues:
        bad |= mask
    typed[ROW] = rows
    if date_only is not None:
        typed["__date_only__"] = date_only
    typed["extra"] = extra_json(extra) if extra is not None else pa.nulls(n, pa.string())
    rejected_rows = None
    if bad.any():  # drop the rejected rows before deriving shifts (two fewer text columns to filter)
        rejected_rows = rejected(bad, issues, rows, file, table, sources or {})
        keep = pa.array(~bad)
        typed = {name: value.filter(keep) for name, value in typed.items()}
        wall = None if wall is None else wall[~bad]
    if kind in (RecordKind.PRODUCTION, RecordKind.SCRAP):
        shift, date = _shifts(typed["time"], cfg, wall)
        given = typed["shift"]
        named = typed.pop("__date_only__", None)
        typed["shift"] = _coalesce(given, shift)  # the export's shift as given; the table's where it has none
        typed["shift_date"] = date
        if named is not None and given.null_count < len(given):
            # a date without a time of day plus a shift: the export names the work date — taken as given
            # (the 야간 of 01-06 is dated 01-06, though the table would put 00:00 in the night of 01-05)
            work = local_dates(typed["time"], mapping.timezone)
            typed["shift_date"] = pc.if_else(pc.and_(pc.is_valid(given), named), work, date)
    schema = arrow_schema(kind)
    return Checked(pa.Table.from_arrays([typed[f.name] for f in schema], schema=schema), rejected_rows)
