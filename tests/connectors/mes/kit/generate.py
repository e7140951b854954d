"""Realistic Korean 생산실적 (production result) exports with answer keys — written independently of the connector.

Run ``python tests/connectors/mes/kit/generate.py`` to rewrite the committed files. Two sets:
``dev/`` (seed 11, used while developing) and ``heldout/`` (seed 29, only checked by the tests, never tuned on).

Each set has two exports that overlap by one work day, and a third in Excel's "Unicode text" layout:
- ``생산실적_A.csv`` — CP949, CRLF, dates as 2026-01-05 / 2026.01.05 / 20260105 mixed;
- ``생산실적_B.csv`` — UTF-8 with BOM, CRLF, dashed dates; its first day repeats A's last day (identical rows are
  duplicates; one corrected row is a *conflict* with A's version);
- ``생산실적_C.txt`` — UTF-16 (LE, BOM), tab-separated, CRLF, the two days after B; several quoted multi-line
  비고 early on, then an impossible date and a negative count, so its row and line numbers part ways.
Rows are one per 작업일자 x 교대 (주간/야간) x 설비코드 x 품번 (two 품번 in one slot = a part changeover); dates have no
time. Injected: impossible calendar dates, a negative 불량수량, a corrected re-send inside A (a conflict), quoted
multi-line 비고, formula-like 비고 (=SUM…, +82…), an exporter's 합계 row, a column no mapping names (라인 -> extra).

``answer_key.json`` (per set): what a store must hold after ingesting A then B with ``mapping.yaml`` and the default
``on_conflict: quarantine`` policy — per-file counts, every quarantine entry (row = data record, 1-based; line =
physical line where the record starts, header = line 1; column; code), stored row count and per-machine sums,
and where every stored record came from (file, row, line: the stored version's, the first one seen).
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

HEADER = ["작업일자", "교대", "설비코드", "품번", "작업지시번호", "계획수량", "생산수량", "양품수량", "불량수량",
          "비가동시간(분)", "작업상태", "작업자", "비고", "라인"]
MACHINES = ["CNC-01", "CNC-02", "PRS-01", "PRS-02"]
PARTS = ["BRK-100", "BRK-200", "HSG-310", "HSG-320", "SFT-050"]
OPERATORS = ["김민수", "이서연", "박지훈", "최유진", "정하늘"]
STATUS = {"완료": "done", "진행중": "running", "중단": "stopped"}
REMARKS = ["", "", "", "", "공구 교체", "치수 재측정", "=SUM(H2:H9)", "+82-53-000-0000", "-", "설비 점검\n재가동 확인",
           '"긴급" 오더', "비고, 쉼표 포함"]
IMPOSSIBLE = ["2026-02-30", "2026.02.29", "2026-04-31", "20260231"]


def _fmt(d: date, style: str) -> str:
    return {"dash": d.strftime("%Y-%m-%d"), "dot": d.strftime("%Y.%m.%d"), "compact": d.strftime("%Y%m%d")}[style]


def _quote(cell: str) -> str:
    if any(c in cell for c in ',"\n\r'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _rows_for_day(rng: random.Random, day: date, order_base: int) -> list[dict[str, Any]]:
    out = []
    for shift in ("주간", "야간"):
        for m in MACHINES:
            parts = rng.sample(PARTS, 2 if rng.random() < 0.3 else 1)  # changeover: two parts in one slot
            for i, part in enumerate(parts):
                planned = rng.choice([200, 240, 300, 400])
                good = rng.randint(planned // 2, planned)
                scrap = rng.randint(0, 12)
                out.append({
                    "day": day, "shift": shift, "machine": m, "part": part,
                    "order": f"WO-{order_base + MACHINES.index(m) * 10 + i:05d}",
                    "planned": planned, "produced": good + scrap, "good": good, "scrap": scrap,
                    "downtime": rng.choice([0, 0, 0, 5, 12, 30, 45]),
                    "status": rng.choice(["완료", "완료", "완료", "진행중", "중단"]),
                    "operator": rng.choice(OPERATORS), "remarks": rng.choice(REMARKS),
                    "line_name": f"{m[:3]}-라인",
                })
    return out


def _cells(r: dict[str, Any], style: str) -> list[str]:
    return [r.get("date_text") or _fmt(r["day"], style), r["shift"], r["machine"], r["part"], r["order"],
            str(r["planned"]), str(r["produced"]), f"{r['good']:,}" if r["good"] >= 1000 else str(r["good"]),
            str(r["scrap"]), str(r["downtime"]), r["status"], r["operator"], r["remarks"], r["line_name"]]


def _key(r: dict[str, Any]) -> tuple[Any, ...]:
    return (r["day"], r["shift"], r["machine"], r["part"], r["order"])


def _write(path: Path, rows: list[dict[str, Any]], encoding: str, styles: list[str],
           rng: random.Random, sep: str = ",") -> list[dict[str, Any]]:
    """Write the export; return each record with its row (1-based data record) and physical start line."""
    text_lines = [sep.join(HEADER)]
    line = 2
    placed = []
    for i, r in enumerate(rows, start=1):
        if r.get("total"):
            cells = ["합계", "", "", "", "", str(r["planned"]), str(r["produced"]), str(r["good"]), str(r["scrap"]),
                     str(r["downtime"]), "", "", "", ""]
        else:
            cells = _cells(r, rng.choice(styles))
        record = sep.join(_quote(c) for c in cells)
        text_lines.append(record)
        placed.append({**r, "row": i, "line": line})
        line += 1 + record.count("\n")
    path.write_bytes(("\r\n".join(text_lines) + "\r\n").encode(encoding))
    return placed


def build(out: Path, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    start = date(2026, 1, 5) + timedelta(days=rng.randint(0, 20))
    days_a = [start + timedelta(days=i) for i in range(4)]
    days_b = [days_a[-1] + timedelta(days=i) for i in range(4)]  # overlaps A by one day
    base = {d: 10000 + 100 * i for i, d in enumerate(sorted(set(days_a + days_b)))}
    rows_a = [r for d in days_a for r in _rows_for_day(rng, d, base[d])]
    overlap = [dict(r) for r in rows_a if r["day"] == days_a[-1]]
    rows_b = overlap + [r for d in days_b[1:] for r in _rows_for_day(rng, d, base[d])]

    quarantine_a: list[dict[str, Any]] = []
    quarantine_b: list[dict[str, Any]] = []
    # A: impossible dates (two rows), a negative scrap, a corrected re-send (conflict), a 합계 row at the end
    bad_a = rng.sample(range(5, len(rows_a) - 5), 3)
    for n, idx in enumerate(bad_a[:2]):
        rows_a[idx] = {**rows_a[idx], "date_text": IMPOSSIBLE[n + (seed % 2)], "expect": ("작업일자", "invalid_date")}
    rows_a[bad_a[2]] = {**rows_a[bad_a[2]], "scrap": -2, "produced": rows_a[bad_a[2]]["good"] - 2,
                        "expect": ("불량수량", "negative")}
    victim = next(i for i in range(3, len(rows_a)) if i not in bad_a and rows_a[i]["day"] != days_a[-1])
    resend = {**rows_a[victim], "good": rows_a[victim]["good"] - 7, "remarks": "정정 재전송",
              "expect": (None, "conflict")}
    rows_a.append(resend)
    valid_a = [r for r in rows_a if "expect" not in r]
    rows_a.append({"total": True, "planned": sum(r["planned"] for r in valid_a),
                   "produced": sum(r["produced"] for r in valid_a), "good": sum(r["good"] for r in valid_a),
                   "scrap": sum(r["scrap"] for r in valid_a), "downtime": sum(r["downtime"] for r in valid_a),
                   "expect": ("작업일자", "total_row")})
    # B: one corrected row of the overlap day (conflict with A's stored version), one impossible date
    fix = next(i for i, r in enumerate(rows_b) if r["day"] == days_a[-1] and "expect" not in r
               and rows_a.index(next(a for a in rows_a if _key(a) == _key(r))) not in bad_a)
    rows_b[fix] = {**rows_b[fix], "scrap": rows_b[fix]["scrap"] + 4, "produced": rows_b[fix]["produced"] + 4,
                   "expect": (None, "conflict")}
    late = rng.randrange(len(overlap) + 2, len(rows_b))
    rows_b[late] = {**rows_b[late], "date_text": IMPOSSIBLE[2 + (seed % 2)], "expect": ("작업일자", "invalid_date")}

    placed_a = _write(out / "생산실적_A.csv", rows_a, "cp949", ["dash", "dot", "compact"], rng)
    placed_b = _write(out / "생산실적_B.csv", rows_b, "utf-8-sig", ["dash"], rng)

    # C (UTF-16, tabs): the two days after B; multi-line 비고 in its first rows, then bad rows after them
    days_c = [days_b[-1] + timedelta(days=i) for i in (1, 2)]
    rows_c = [r for i, d in enumerate(days_c) for r in _rows_for_day(rng, d, 20000 + 100 * i)]
    for i in (1, 3, 4):
        rows_c[i] = {**rows_c[i], "remarks": ["설비 점검\n재가동 확인", "금형 교체\n시운전 3회\n양산 복귀",
                                              "야간 조 인계:\n치수 불량 재측정"][(i - 1) % 3]}
    c_bad = rng.sample(range(8, len(rows_c) - 2), 2)
    rows_c[c_bad[0]] = {**rows_c[c_bad[0]], "date_text": "2026-06-31", "expect": ("작업일자", "invalid_date")}
    rows_c[c_bad[1]] = {**rows_c[c_bad[1]], "good": -5,
                        "expect": ("양품수량", "negative")}
    placed_c = _write(out / "생산실적_C.txt", rows_c, "utf-16", ["dash"], rng, sep="\t")
    quarantine_c: list[dict[str, Any]] = []

    stored: dict[tuple[Any, ...], dict[str, Any]] = {}
    files = {}
    parts = (("생산실적_A.csv", placed_a, quarantine_a), ("생산실적_B.csv", placed_b, quarantine_b),
             ("생산실적_C.txt", placed_c, quarantine_c))
    for name, placed, quarantine in parts:
        inserted = duplicates = 0
        for r in placed:
            if "expect" in r and r["expect"][1] != "conflict":
                quarantine.append({"row": r["row"], "line": r["line"], "column": r["expect"][0],
                                   "code": r["expect"][1]})
                continue
            k = _key(r)
            if k not in stored:
                stored[k] = {**r, "file": name}
                inserted += 1
                continue
            old = stored[k]
            fields = ("planned", "produced", "good", "scrap", "downtime", "status", "operator", "remarks", "line_name")
            if all(old[f] == r[f] for f in fields):
                duplicates += 1
            else:
                quarantine.append({"row": r["row"], "line": r["line"], "column": None, "code": "conflict"})
        files[name] = {"records": len(placed), "inserted": inserted, "duplicates": duplicates,
                       "quarantined": len(quarantine), "quarantine": quarantine}
    per_machine: dict[str, dict[str, int]] = {}
    for r in stored.values():
        s = per_machine.setdefault(r["machine"], {"rows": 0, "good": 0, "scrap": 0, "produced": 0, "planned": 0,
                                                  "downtime_minutes": 0})
        s["rows"] += 1
        for f, key in (("good", "good"), ("scrap", "scrap"), ("produced", "produced"), ("planned", "planned"),
                       ("downtime", "downtime_minutes")):
            s[key] += r[f]
    night = sorted({(r["day"].isoformat(), r["machine"]) for r in stored.values() if r["shift"] == "야간"})
    key = {"seed": seed, "files": files, "stored_rows": len(stored), "per_machine": per_machine,
           "night_shift_dates": sorted({d for d, _ in night}),
           "remarks_verbatim": sorted({r["remarks"] for r in stored.values() if r["remarks"]}),
           "extra_lines": sorted({r["line_name"] for r in stored.values()}),
           "stored_positions": {name: sorted([r["row"], r["line"]] for r in stored.values() if r["file"] == name)
                                for name, _, _ in parts}}
    (out / "answer_key.json").write_text(json.dumps(key, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return key


MAPPING = """\
# 생산실적 export of the kit: every option the mapping file knows, see docs/connectors/mes-real-exports.md
mappings:
  - pattern: "생산실적_*"
    kind: production
    columns:
      작업일자: time
      교대: shift
      설비코드: equipment
      품번: product
      작업지시번호: order_id
      계획수량: planned
      생산수량: produced
      양품수량: good
      불량수량: scrap
      비가동시간(분): downtime_minutes
      작업상태: status
      작업자: operator
      비고: remarks
    enums:
      status: {완료: done, 진행중: running, 중단: stopped}
    timestamp_formats: ["%Y-%m-%d", "%Y.%m.%d", "%Y%m%d"]
    on_conflict: quarantine
"""


def main() -> None:
    here = Path(__file__).parent
    for name, seed in (("dev", 11), ("heldout", 29)):
        build(here / name, seed)
        (here / name / "mapping.yaml").write_text(MAPPING, encoding="utf-8")


if __name__ == "__main__":
    main()
