"""B2MML on the real MESA schemas and the five real exporter files in ../shared/data/b2mml (used in place)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factorypilot.connectors.mes import MesFilesConfig, MesStore, RecordKind
from factorypilot.connectors.mes._ingest import ingest_file

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "b2mml"
OURS = Path(__file__).parent / "b2mml"
pytestmark = pytest.mark.skipif(not (SHARED / "examples").is_dir(),
                                reason="the shared MESA schemas (../shared/data/b2mml) are not beside this checkout")


def _ingest(tmp_path: Path, *names: Path, schema: bool = True) -> tuple[MesStore, list]:  # type: ignore[type-arg]
    cfg = MesFilesConfig(home=tmp_path, schema_dir=SHARED if schema else None)
    store = MesStore(tmp_path / "b2mml.sqlite")
    return store, [ingest_file(n, cfg, store) for n in names]


def test_real_examples_parse_with_quantities(tmp_path: Path) -> None:
    ex = SHARED / "examples"
    store, reports = _ingest(tmp_path, *sorted(ex.glob("*.xml")))
    try:
        by = {Path(r.file).name[:3]: r for r in reports}
        assert all(r.detail.startswith("V0401 Sync") for r in reports)
        order = store.records(RecordKind.WORK_ORDER)
        assert [(o["order_id"], o["product"], o["quantity"], o["unit"]) for o in order] == [
            ("258456", "SO1215", 1.0, "KG")]  # the final segment's produced material, not 5/50/811/100 consumed
        assert store.records(RecordKind.PRODUCTION) == []  # PES has only consumed material: no production
        seg = store.records(RecordKind.SEGMENT)
        assert [(s["order_id"], s["segment_id"], s["material_use"], s["material"], s["lot_id"], s["quantity"])
                for s in seg] == [("53107", "Weighing", "Consumed", "CRBN0001", "CRBN0001_LOT01", 0.41)]
        lots = {lot["lot_id"]: lot for lot in store.records(RecordKind.LOT)}
        assert lots["CRBN0001_LOT01_01"]["quantity"] == 24.91
        assert lots["CRBN0001_LOT01_01"]["unit"] == "KG"
        assert lots["CRBN0001_LOT01_01"]["parent_lot"] == "CRBN0001_LOT01"
        assert lots["CRBN0001_LOT01_01"]["status"] == "NotValid"
        # LOT-… re-sends lot CRBN0001_LOT01 with Status Valid: a conflict with the INV file's version, not an
        # overwrite
        assert by["LOT"].conflicts == 1
        assert by["LOT"].conflict_list[0]["incoming"]["status"] == "Valid"
        mats = store.records(RecordKind.MATERIAL)
        assert [(m["material_id"], m["description"], m["unit"]) for m in mats] == [
            ("CRBN0001", "Product Courbon0001", "KG")]
        # the real PES file lacks the BOD's required releaseID attribute: ingested, marked invalid
        assert by["PES"].schema_valid is False
        assert "releaseID" in by["PES"].schema_violations[0]
        assert all(by[k].schema_valid is True for k in ("INV", "LOT", "MAT", "PRO"))
        assert json.loads(json.loads(seg[0]["extra"])["b2mml"])["schema_valid"] is False
    finally:
        store.close()


@pytest.mark.parametrize(("name", "valid"), [("performance_v0600.xml", True), ("performance_v0600_vendor.xml", False)])
def test_v0600_performance_final_segment_and_verdict(tmp_path: Path, name: str, valid: bool) -> None:
    store, (report,) = _ingest(tmp_path, OURS / name)
    try:
        assert report.schema_valid is valid
        assert report.detail.startswith("V0600 ProductionPerformance")
        if not valid:
            assert "acme:Operator" in report.schema_violations[0]
        prod = store.records(RecordKind.PRODUCTION)
        assert [(p["equipment"], p["good"], p["scrap"], p["order_id"], p["product"], p["lot_id"]) for p in prod] == [
            ("CNC-01", 120, 4, "WO-1001", "BRK-100", "LOT-0106")]  # scrap from ProductionData ScrapQuantity
        seg = store.records(RecordKind.SEGMENT)  # the intermediate cut segment is not production
        assert [(s["segment_id"], s["material"], s["quantity"]) for s in seg] == [("SR-CUT", "BLANK-7", 130.0)]
    finally:
        store.close()


@pytest.mark.parametrize(("name", "valid"), [("equipment_70.xml", True), ("equipment_70_missing_id.xml", False)])
def test_v70_equipment_child_hierarchy_and_levels(tmp_path: Path, name: str, valid: bool) -> None:
    store, (report,) = _ingest(tmp_path, OURS / name)
    try:
        assert report.schema_valid is valid
        assert report.detail.startswith("7.0 EquipmentInformation")
        eq = {e["equipment_id"]: (e["parent"], e["level"]) for e in store.records(RecordKind.EQUIPMENT)}
        assert eq == {"DAEGU": (None, "Site"), "LINE-1": ("DAEGU", "ProductionLine"),
                      "CNC-01": ("LINE-1", "WorkUnit"), "CNC-02": ("LINE-1", "WorkUnit")}
    finally:
        store.close()


def test_without_schema_dir_there_is_no_verdict(tmp_path: Path) -> None:
    store, (report,) = _ingest(tmp_path, OURS / "performance_v0600_vendor.xml", schema=False)
    try:
        assert report.schema_valid is None
        assert report.accepted == 2
    finally:
        store.close()


def test_v70_operations_performance(tmp_path: Path) -> None:
    store, (report,) = _ingest(tmp_path, OURS / "performance_70.xml")
    try:
        assert report.schema_valid is True
        assert report.detail.startswith("7.0 OperationsPerformance")
        (prod,) = store.records(RecordKind.PRODUCTION)
        assert (prod["equipment"], prod["good"], prod["scrap"], prod["order_id"], prod["lot_id"]) == (
            "RBT-03", 57, 3, "WO-2001", "LOT-0107-N")  # 불량수량 key counts as scrap
        assert (prod["shift"], prod["shift_date"]) == ("C", "2026-01-06")  # 02:00 ends the night shift of 01-06
        (seg,) = store.records(RecordKind.SEGMENT)
        assert (seg["material_use"], seg["material"], seg["quantity"]) == ("Consumed", "FRM-9", 60.0)
    finally:
        store.close()


def test_v70_lot_with_sub_lots_and_disposition(tmp_path: Path) -> None:
    store, (report,) = _ingest(tmp_path, OURS / "lot_70.xml")
    try:
        assert report.schema_valid is True
        assert report.detail.startswith("7.0 MaterialInformation")
        lots = {lot["lot_id"]: (lot["parent_lot"], lot["quantity"], lot["disposition"])
                for lot in store.records(RecordKind.LOT)}
        assert lots == {"LOT-A": (None, 750.5, "Restricted"), "LOT-A-01": ("LOT-A", 500.0, "UnRestricted"),
                        "LOT-A-02": ("LOT-A", 250.5, "Restricted")}
    finally:
        store.close()


def test_schemas_found_without_schema_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          fp_home: Path) -> None:
    """No schema_dir in the config: FACTORYPILOT_B2MML_SCHEMAS, else FACTORYPILOT_HOME/b2mml; without either the
    file is ingested with no verdict and a note saying how to point at the schemas."""
    from factorypilot.settings import get_settings

    vendor = OURS / "performance_v0600_vendor.xml"
    bare = MesFilesConfig(home=tmp_path / "mes")
    plain = ingest_file(vendor, bare, None)
    assert plain.schema_valid is None
    assert "FACTORYPILOT_B2MML_SCHEMAS" in plain.schema_note
    assert "not validated (no schemas)" in plain.detail

    monkeypatch.setenv("FACTORYPILOT_B2MML_SCHEMAS", str(SHARED))
    get_settings.cache_clear()
    by_env = ingest_file(vendor, bare, None)
    assert by_env.schema_valid is False  # the vendor extension is not in the schema: a verdict, still read
    assert by_env.schema_violations
    assert by_env.schema_note == ""
    assert by_env.accepted == 2

    monkeypatch.delenv("FACTORYPILOT_B2MML_SCHEMAS")
    get_settings.cache_clear()
    fp_home.mkdir(parents=True, exist_ok=True)
    (fp_home / "b2mml").symlink_to(SHARED.resolve(), target_is_directory=True)
    in_home = ingest_file(vendor, bare, None)
    assert (in_home.schema_valid, in_home.schema_violations) == (by_env.schema_valid, by_env.schema_violations)
