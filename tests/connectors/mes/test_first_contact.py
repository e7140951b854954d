"""First contact with an export and a mapping that refuses what it does not know."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from typer.testing import CliRunner

from factorypilot.cli._app import app
from factorypilot.cli._commands import register
from factorypilot.connectors.mes import MappingConfig, MesFilesConfig, MesStore, RecordKind
from factorypilot.connectors.mes._ingest import ingest_file
from factorypilot.connectors.mes._inspect import inspect_file
from factorypilot.errors import DataError

KIT = Path(__file__).parent / "kit" / "dev"


def test_unknown_fields_and_enum_keys_are_refused_with_the_valid_ones() -> None:
    with pytest.raises(ValidationError, match="qty_produced") as info:
        MappingConfig(kind="production", columns={"생산수량": "qty_produced"})
    assert "produced" in str(info.value)
    assert "downtime_minutes" in str(info.value)
    with pytest.raises(ValidationError, match="'작업상태' is a source column; use its field 'status'"):
        MappingConfig(kind="production", columns={"작업상태": "status"}, enums={"작업상태": {"완료": "done"}})
    with pytest.raises(ValidationError, match=r"enums\.status: unknown value"):
        MappingConfig(kind="production", enums={"status": {"완료": "finished"}})
    with pytest.raises(ValidationError, match="required"):
        MappingConfig(kind="production", required=["operater"])
    with pytest.raises(ValidationError, match="key"):
        MappingConfig(kind="production", key=["shfit"])
    with pytest.raises(ValidationError, match="extra"):  # unknown mapping options too
        MappingConfig.model_validate({"kind": "production", "on_conflcit": "replace"})


def test_jsonl_required_field(tmp_path: Path) -> None:
    path = tmp_path / "wo.jsonl"
    path.write_text('{"order_id": "WO-1", "quantity": 5}\n{"order_id": "WO-2"}\n', encoding="utf-8")
    cfg = MesFilesConfig(home=tmp_path, mappings=[{"kind": "work_order", "required": ["quantity"]}])
    report = ingest_file(path, cfg, None)
    assert (report.accepted, report.quarantined) == (1, 1)


def test_inspect_proposes_production_with_confidence(tmp_path: Path) -> None:
    rep = inspect_file(KIT / "생산실적_A.csv", MesFilesConfig(home=tmp_path), rows=50)
    assert rep.kind == "production"
    assert not rep.mapping_named
    assert rep.mapping["작업일자"] == "time"
    assert rep.mapping["생산수량"] == "produced"
    assert rep.mapping["비가동시간(분)"] == "downtime_minutes"
    assert rep.mapping["비고"] == "remarks"
    assert rep.unmapped == ["라인"]
    assert all(0.5 <= c <= 1 for c in rep.confidence.values())
    assert rep.confidence["교대"] == 0.9


def test_ingest_without_mapping_is_refused(tmp_path: Path) -> None:
    store = MesStore(tmp_path / "s.sqlite")
    try:
        with pytest.raises(DataError, match="no mapping covers this file"):
            ingest_file(KIT / "생산실적_A.csv", MesFilesConfig(home=tmp_path), store)
        assert store.counts()["production"] == store.counts()["equipment"] == 0
    finally:
        store.close()


def test_init_mapping_output_stores_what_the_kit_mapping_stores(tmp_path: Path) -> None:
    register(app)
    runner = CliRunner()
    proposed: dict[str, list[dict[str, object]]] = {"mappings": []}
    for sample in ("생산실적_A.csv", "생산실적_C.txt"):  # the CSV exports and the UTF-16 text export
        out = runner.invoke(app, ["mes", "init-mapping", str(KIT / sample)])
        assert out.exit_code == 0, out.output
        proposed["mappings"] += yaml.safe_load(out.output)["mappings"]
    assert [m["kind"] for m in proposed["mappings"]] == ["production", "production"]
    assert [m["pattern"] for m in proposed["mappings"]] == ["생산실적_*.csv", "생산실적_*.txt"]
    key = json.loads((KIT / "answer_key.json").read_text(encoding="utf-8"))
    cfg = MesFilesConfig.model_validate({**proposed, "home": str(tmp_path)})
    store = MesStore(tmp_path / "s.sqlite")
    try:
        for name in key["files"]:
            ingest_file(KIT / name, cfg, store)
        assert len(store.records(RecordKind.PRODUCTION)) == key["stored_rows"]
    finally:
        store.close()


def test_ingest_cli_refuses_without_mapping_and_exits_nonzero(tmp_path: Path) -> None:
    import subprocess

    exe = Path(sys.executable).parent / "factorypilot"
    done = subprocess.run([str(exe), "mes", "ingest", str(KIT / "생산실적_A.csv")], capture_output=True, text=True,
                          env={"FACTORYPILOT_HOME": str(tmp_path), "PATH": str(exe.parent)}, check=False)
    assert done.returncode != 0
    assert "no mapping covers this file" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_utf8_cut_inside_a_character_is_one_line_with_record_and_offset(tmp_path: Path) -> None:
    rows = ["설비코드,작업일자,양품수량,비고"] + [f"CNC-{i:02d},2026-01-06,{i},정상 가동 {i}" for i in range(1, 20000)]
    data = ("\n".join(rows) + "\n").encode("utf-8")
    at = data.index("정상 가동 15000".encode()) + 1
    path = tmp_path / "cut.csv"
    path.write_bytes(data[:at] + data[at + 1:])
    cfg = MesFilesConfig(home=tmp_path, mappings=[{"kind": "production", "columns": {"작업일자": "time"}}])
    with pytest.raises(DataError) as info:
        ingest_file(path, cfg, None)
    text = str(info.value)
    assert f"byte offset {at - 1:,}" in text
    assert "record 15000" in text
    assert "\n" not in text


def test_inspect_uses_the_values_it_sees_shift_and_status_words(tmp_path: Path) -> None:
    """Headers outside the lexicon (근무, 공정현황) are proposed by their values (주간/야간, 완료/진행중); a lexicon
    header whose values are not shift words gets a low confidence."""
    rows = ["작업일자,근무,설비코드,품번,양품수량,불량수량,공정현황,교대"]
    for i, (shift, status) in enumerate([("주간", "완료"), ("야간", "완료"), ("주간", "진행중"), ("야간", "중단")]):
        rows.append(f"2026-01-0{i + 5},{shift},CNC-0{i % 2 + 1},BRK-100,{100 + i},{i},{status},x{i}")
    path = tmp_path / "실적_근무.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    rep = inspect_file(path, MesFilesConfig(home=tmp_path), kind=RecordKind.PRODUCTION)
    assert rep.mapping["교대"] == "shift"  # the lexicon names it first ...
    assert rep.confidence["교대"] == 0.0  # ... but none of its values is a shift
    assert "근무" in rep.unmapped  # shift is taken: the values alone do not map a second column to it
    assert (rep.mapping["공정현황"], rep.confidence["공정현황"]) == ("status", 0.5)  # found by its values
    path2 = tmp_path / "실적_근무2.csv"
    path2.write_text("\n".join(r.rsplit(",", 1)[0] for r in rows) + "\n", encoding="utf-8")
    rep2 = inspect_file(path2, MesFilesConfig(home=tmp_path), kind=RecordKind.PRODUCTION)
    assert (rep2.mapping["근무"], rep2.confidence["근무"]) == ("shift", 0.5)
    assert rep2.confidence["작업일자"] == 0.9
