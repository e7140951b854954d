"""First contact with an export: a proposed kind and column mapping with a confidence per column, and the
mapping file ``factorypilot mes init-mapping`` writes for the user to check."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from factorypilot.connectors.mes._aliases import confidence
from factorypilot.connectors.mes.records import DEFAULT_ENUMS, FIELDS, RecordKind

_DATE = re.compile(r"^\s*\d{4}[-./]?\d{1,2}[-./]?\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2})?)?")
_NUMBER = re.compile(r"^\s*[+-]?[\d,]*\.?\d+\s*$")
_FORMATS = (("%Y-%m-%d", r"^\d{4}-\d{2}-\d{2}$"), ("%Y.%m.%d", r"^\d{4}\.\d{2}\.\d{2}$"),
            ("%Y/%m/%d", r"^\d{4}/\d{2}/\d{2}$"), ("%Y%m%d", r"^\d{8}$"))


SHIFT_WORDS = frozenset({"주간", "야간", "주", "야", "오전", "오후", "심야", "주간조", "야간조", "1조", "2조", "3조",
                         "a조", "b조", "c조", "day", "night", "swing", "a", "b", "c", "d", "1", "2", "3"})
"""Values a shift column holds in Korean and English exports (plus the config's shift names)."""


def words_for(kind: RecordKind, field: str, shifts: Iterable[str] = ()) -> frozenset[str] | None:
    """The value dictionary of an enum-like field (lower case), or None for a field without one."""
    if field == "shift":
        return SHIFT_WORDS | {s.lower() for s in shifts}
    known = DEFAULT_ENUMS.get(kind, {}).get(field)
    return frozenset(k.lower() for k in known) if known else None


def value_fit(field_type: str, values: list[Any], words: frozenset[str] | None = None) -> float:
    """Share of the non-empty sample values that look like the field's type, or that are words of its value
    dictionary (``words``: shifts, status words); 1.0 when there are no values."""
    seen = [str(v).strip() for v in values if v is not None and str(v).strip()]
    if not seen:
        return 1.0
    if words is not None:
        return sum(v.lower() in words for v in seen) / len(seen)
    if field_type == "str":
        return 1.0
    pattern = _DATE if field_type == "datetime" else _NUMBER
    return sum(bool(pattern.match(v)) for v in seen) / len(seen)


def propose(kind: RecordKind, mapping: dict[str, str], explicit: dict[str, str],
            preview: list[dict[str, Any]], shifts: Iterable[str] = ()) -> dict[str, float]:
    """source column -> confidence of its proposed field (name match x share of values that fit the type or,
    for shift and status, the field's value dictionary)."""
    out = {}
    for column, field in mapping.items():
        ftype = FIELDS[kind][field][0] if field in FIELDS[kind] else "str"
        fit = value_fit(ftype, [row.get(column) for row in preview], words_for(kind, field, shifts))
        out[column] = round(confidence(column, field, explicit) * fit, 2)
    return out


def discover(kind: RecordKind, mapping: dict[str, str], columns: list[str], preview: list[dict[str, Any]],
             shifts: Iterable[str] = ()) -> dict[str, str]:
    """Columns no header names, proposed by their values: a shift or status column whose header is not in the
    lexicon (e.g. 근무 with 주간/야간), when at least 3 values and 90 % of them are words of the field's
    dictionary (digits and single letters alone are not evidence)."""
    out: dict[str, str] = {}
    for field in ("shift", "status"):
        words = words_for(kind, field, shifts)
        if field not in FIELDS[kind] or field in mapping.values() or words is None:
            continue
        words = frozenset(w for w in words if len(w) > 1 and not w.isdigit())
        for column in columns:
            if column in mapping or column in out:
                continue
            values = [str(r.get(column)).strip() for r in preview if r.get(column) not in (None, "")]
            if len(values) >= 3 and value_fit("str", values, words) >= 0.9:
                out[column] = field
                break
    return out


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def mapping_yaml(file_name: str, kind: RecordKind, mapping: dict[str, str], conf: dict[str, float],
                 unmapped: list[str], encoding: str | None, preview: list[dict[str, Any]]) -> str:
    """A mapping file for ``file_name`` (YAML with the confidence of each column as a comment)."""
    order = list(preview[0]) if preview else []
    base = file_name.rsplit(".", 1)[0]
    cut = max(base.rfind("_"), base.rfind("-"))  # 생산실적_20260106 / 생산실적_A -> 생산실적_*: the whole family
    stem = base[: cut + 1] if cut > 0 else re.sub(r"\d+$", "", base)
    suffix = file_name.rsplit(".", 1)[-1] if "." in file_name else "*"
    lines = ["# factorypilot mes mapping — proposed from " + file_name + "; check every line / 모든 줄을 확인하세요",
             "# confidence: 1.0 named by you, 0.9 a known header, 0.5 proposed from its values (shift and status "
             "words); lower: values did not fit",
             "mappings:", f"  - pattern: {_q(stem + '*.' + suffix)}", f"    kind: {kind.value}"]
    if encoding:  # detection is reliable (BOM, strict UTF-8, CP949); a fixed encoding would break other exports
        lines.append(f"    # encoding: {encoding}   (detected; set it only if detection fails)")
    lines.append("    columns:")
    for column, field in sorted(mapping.items(), key=lambda cf: order.index(cf[0]) if cf[0] in order else 0):
        lines.append(f"      {_q(column)}: {field}   # confidence {conf.get(column, 0):.2f}")
    for column in unmapped:
        lines.append(f"      # {_q(column)}: ?   (unmapped: kept verbatim in `extra`)")
    dates = [str(row.get(c)) for c, f in mapping.items() if f == "time" for row in preview if row.get(c)]
    if any(re.match(rx, d.strip()) for _, rx in _FORMATS for d in dates):  # date-only work dates: every form
        lines.append("    timestamp_formats: [" + ", ".join(_q(f) for f, _ in _FORMATS) + "]")
    status_col = next((c for c, f in mapping.items() if f == "status"), None)
    known = DEFAULT_ENUMS.get(kind, {}).get("status", {})
    if status_col is not None and known:
        values = sorted({str(row.get(status_col)).strip() for row in preview if row.get(status_col)})
        pairs = [f"{_q(v)}: {known.get(v, known.get(v.lower(), '?'))}" for v in values]
        lines.append("    enums:")
        lines.append("      status: {" + ", ".join(pairs) + "}   # values seen; add the others")
    lines.append("    on_conflict: quarantine   # or replace; both list every conflict with both versions")
    return "\n".join(lines) + "\n"
