"""The Korean export kit (tests/connectors/mes/kit): stored records and quarantine entries match the answer keys
(CP949, UTF-8 with BOM, and UTF-16 tab-separated exports with multi-line cells).

``dev`` was used while developing; ``heldout`` (another generator seed) was not looked at while tuning.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from factorypilot.connectors.mes import MesFilesConfig, MesStore, RecordKind
from factorypilot.connectors.mes._ingest import ingest_file

KIT = Path(__file__).parent / "kit"


def _config(kit: Path, home: Path, **over: Any) -> MesFilesConfig:
    data = yaml.safe_load((kit / "mapping.yaml").read_text(encoding="utf-8"))
    for m in data["mappings"]:
        m.update(over)
    return MesFilesConfig.model_validate({**data, "home": str(home)})


@pytest.mark.parametrize("batch_rows", [65_536, 3])  # 3: pieces of a few rows, cut between multi-line cells
@pytest.mark.parametrize("part", ["dev", "heldout"])
def test_kit_matches_answer_key(part: str, batch_rows: int, tmp_path: Path) -> None:
    kit = KIT / part
    key = json.loads((kit / "answer_key.json").read_text(encoding="utf-8"))
    cfg = _config(kit, tmp_path).model_copy(update={"batch_rows": batch_rows})
    store = MesStore(tmp_path / "kit.sqlite")
    try:
        for name, expected in key["files"].items():
            report = ingest_file(kit / name, cfg, store)
            assert (report.total, report.inserted, report.duplicates, report.quarantined, report.replaced) == (
                expected["records"], expected["inserted"], expected["duplicates"], expected["quarantined"], 0)
            entries = [json.loads(line) for line in Path(report.quarantine_file or "").read_text("utf-8").splitlines()]
            got = sorted(({k: e[k] for k in ("row", "line", "column", "code")} for e in entries),
                         key=lambda e: e["row"])
            assert got == expected["quarantine"]
            conflicts = [e for e in entries if e["code"] == "conflict"]
            assert len(conflicts) == report.conflicts == len(report.conflict_list)
            for c in conflicts:  # both versions, and they differ where it says
                assert c["stored"] != c["incoming"]
                assert c["differs"]
                assert all(c["stored"][f] != c["incoming"][f] for f in c["differs"])
        rows = store.records(RecordKind.PRODUCTION)
        assert len(rows) == key["stored_rows"]
        sums: dict[str, dict[str, float]] = {}
        for r in rows:
            s = sums.setdefault(r["equipment"], {"rows": 0, "good": 0, "scrap": 0, "produced": 0, "planned": 0,
                                                 "downtime_minutes": 0})
            s["rows"] += 1
            for f in ("good", "scrap", "produced", "planned", "downtime_minutes"):
                s[f] += r[f]
        assert sums == key["per_machine"]
        night = sorted({r["shift_date"] for r in rows if r["shift"] == "야간"})
        assert night == key["night_shift_dates"]  # the export's work date, not the day before
        assert sorted({r["remarks"] for r in rows if r["remarks"]}) == key["remarks_verbatim"]
        assert sorted({json.loads(r["extra"])["라인"] for r in rows}) == key["extra_lines"]
        assert {r["status"] for r in rows} <= {"done", "running", "stopped"}
        # where each stored record came from: record number and physical line, as a quarantine entry says them
        positions: dict[str, list[list[int]]] = {}
        for r in rows:
            positions.setdefault(Path(r["source_file"]).name, []).append([r["source_row"], r["source_line"]])
        assert {name: sorted(p) for name, p in positions.items()} == key["stored_positions"]
    finally:
        store.close()


def test_kit_replace_policy_lists_both_versions(tmp_path: Path) -> None:
    kit = KIT / "dev"
    key = json.loads((kit / "answer_key.json").read_text(encoding="utf-8"))
    cfg = _config(kit, tmp_path, on_conflict="replace")
    store = MesStore(tmp_path / "kit.sqlite")
    try:
        reports = [ingest_file(kit / name, cfg, store) for name in key["files"]]
        n_conflicts = sum(e["code"] == "conflict" for f in key["files"].values() for e in f["quarantine"])
        assert sum(r.replaced for r in reports) == sum(r.conflicts for r in reports) == n_conflicts
        assert all(c["action"] == "replaced" for r in reports for c in r.conflict_list)
        assert len(store.records(RecordKind.PRODUCTION)) == key["stored_rows"]  # replaced, not added
        for r in reports:
            assert r.total == r.accepted + r.quarantined
            assert r.accepted == r.inserted + r.replaced + r.duplicates
    finally:
        store.close()


def test_kit_dry_run_stores_nothing(tmp_path: Path) -> None:
    kit = KIT / "dev"
    cfg = _config(kit, tmp_path)
    store = MesStore(tmp_path / "kit.sqlite")
    try:
        dry = ingest_file(kit / "생산실적_A.csv", cfg, store, dry_run=True)
        assert store.counts()["production"] == 0
        assert dry.quarantine_file is None
        real = ingest_file(kit / "생산실적_A.csv", cfg, store)
        assert (dry.inserted, dry.quarantined, dry.conflicts) == (real.inserted, real.quarantined, real.conflicts)
        assert store.counts()["production"] == real.inserted
    finally:
        store.close()
