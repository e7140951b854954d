"""First contact with an export: a proposed kind and column mapping with a confidence per column, and the
mapping file ``factorypilot mes init-mapping`` writes for the user to check."""

from __future__ import annotations

import re
from typing import Any

from factorypilot.connectors.mes._aliases import confidence
from factorypilot.connectors.mes.records import DEFAULT_ENUMS, FIELDS, RecordKind

_DATE = re.compile(r"^\s*\d{4}[-./]?\d{1,2}[-./]?\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2})?)?")
_NUMBER = re.compile(r"^\s*[+-]?[\d,]*\.?\d+\s*$")
_FORMATS = (("%Y-%m-%d", r"^\d{4}-\d{2}-\d{2}$"), ("%Y.%m.%d", r"^\d{4}\.\d{2}\.\d{2}$"),
            ("%Y/%m/%d", r"^\d{4}/\d{2}/\d{2}$"), ("%Y%m%d", r"^\d{8}$"))


def value_fit(field_type: str, values: list[Any]) -> float:
    """Share of the non-empty sample values that look like the field's type (1.0 when there are none)."""
    seen = [str(v).strip() for v in values if v is not None and str(v).strip()]
    if not seen or field_type == "str":
        return 1.0
    pattern = _DATE if field_type == "datetime" else _NUMBER
    return sum(bool(pattern.match(v)) for v in seen) / len(seen)


def propose(kind: RecordKind, mapping: dict[str, str], explicit: dict[str, str],
            preview: list[dict[str, Any]]) -> dict[str, float]:
    """source column -> confidence of its proposed field (name match x share of values that fit)."""
    out = {}
    for column, field in mapping.items():
        ftype = FIELDS[kind][field][0] if field in FIELDS[kind] else "str"
        fit = value_fit(ftype, [row.get(column) for row in preview])
        out[column] = round(confidence(column, field, explicit) * fit, 2)
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
             "# confidence: 1.0 named by you, 0.9 a known header, 0.7 a looser alias, lower: values did not fit",
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
