"""Hypothesis: random 생산실적 tables (work dates x 주간/야간 x machines x part changeovers, re-sends with or without
changes, unmapped columns) — every valid row is stored, counted as a duplicate, or reported as a conflict; nothing
is lost or overwritten silently, and every unmapped cell is in ``extra``."""

from __future__ import annotations

import json
import tempfile
from datetime import date, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factorypilot.connectors.mes import MesFilesConfig, MesStore, RecordKind
from factorypilot.connectors.mes._ingest import ingest_file

HEADER = ["작업일자", "교대", "설비코드", "품번", "양품수량", "불량수량", "라인", "메모2"]
_slot = st.tuples(st.integers(0, 3), st.sampled_from(["주간", "야간"]), st.sampled_from(["CNC-01", "PRS-2", "로봇 3"]),
                  st.sampled_from(["BRK-1", "HSG-2", "SFT-3"]))
_row = st.tuples(_slot, st.integers(0, 500), st.integers(0, 20), st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=8), st.sampled_from(["", "=SUM(A1)", "x"]))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(_row, max_size=30), policy=st.sampled_from(["quarantine", "replace"]),
       style=st.sampled_from(["%Y-%m-%d", "%Y.%m.%d", "%Y%m%d"]))
def test_stored_is_accepted_plus_replaced_nothing_lost(rows: list[tuple], policy: str, style: str) -> None:  # type: ignore[type-arg]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "생산실적.csv"
        lines = [",".join(HEADER)]
        for (day, shift, machine, part), good, scrap, line, memo in rows:
            cells = [(date(2026, 1, 5) + timedelta(days=day)).strftime(style), shift, machine, part, str(good),
                     str(scrap), line, memo]
            lines.append(",".join('"' + c.replace('"', '""') + '"' for c in cells))
        path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
        cfg = MesFilesConfig(home=Path(tmp) / "home", batch_rows=7, mappings=[{
            "kind": "production", "on_conflict": policy, "timestamp_formats": ["%Y-%m-%d", "%Y.%m.%d", "%Y%m%d"],
            "columns": {"작업일자": "time", "교대": "shift", "설비코드": "equipment", "품번": "product",
                        "양품수량": "good", "불량수량": "scrap"}}])
        store = MesStore(Path(tmp) / "s.sqlite")
        try:
            report = ingest_file(path, cfg, store)
            stored = store.records(RecordKind.PRODUCTION)
        finally:
            store.close()
        # what the rows say, settled in file order by (work date, shift, machine, part)
        expect: dict[tuple, tuple] = {}  # type: ignore[type-arg]
        conflicts = duplicates = 0
        for (slot, good, scrap, _, _) in rows:
            if slot not in expect:
                expect[slot] = (good, scrap)
            elif expect[slot] == (good, scrap):
                duplicates += 1
            else:
                conflicts += 1
                if policy == "replace":
                    expect[slot] = (good, scrap)
        assert report.total == len(rows)
        assert report.conflicts == conflicts
        assert report.duplicates == duplicates
        replaced = conflicts if policy == "replace" else 0
        assert len(stored) == report.inserted == len(expect)
        assert report.accepted == report.inserted + replaced + duplicates
        assert report.quarantined == (conflicts if policy == "quarantine" else 0)
        got = {((date.fromisoformat(r["shift_date"]) - date(2026, 1, 5)).days, r["shift"], r["equipment"],
                r["product"]): (r["good"], r["scrap"]) for r in stored}
        assert got == expect  # the 야간 row keeps its own work date and never replaces the 주간 row
        for r in stored:
            assert set(json.loads(r["extra"])) == {"라인", "메모2"}
        memos = {json.loads(r["extra"])["메모2"] for r in stored}
        assert memos <= {"", "=SUM(A1)", "x"}
