"""Template export: gate check, recorded override, no company data (scanned), integrity, zip round trip."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml

from factorypilot.agents import Ledger
from factorypilot.errors import ConfigError, DataError
from factorypilot.pilots.runtime import reference_pilots
from factorypilot.pilots.spec import load_spec
from factorypilot.pilots.spreading.templates import export_template, gate_status, load_template, scan_tree


def _gate_report(home: Path, passed: bool, name: str = "20261125T100000Z") -> Path:
    """A report in the evaluation harness's format (``reports/<pilot>/<time>/report.json``)."""
    out = home / "reports" / "mobility-cnc" / name
    out.mkdir(parents=True)
    (out / "report.json").write_text(json.dumps({"pilot": "mobility-cnc", "gate": {"detection_rate": 1.0},
                                                 "gate_passed": passed, "gate_failures": []}), encoding="utf-8")
    return out / "report.json"


def _lead_pilot(tmp_path: Path) -> Path:
    """A copy of the mobility pilot as a lead firm has it: bindings, endpoint, credentials, company files."""
    src = reference_pilots()["mobility"].parent
    dst = tmp_path / "lead" / "mobility"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    doc = yaml.safe_load((dst / "pilot.yaml").read_text(encoding="utf-8"))
    doc["bindings"] = {"spindle_vibration": "ns=2;s=대구모빌리티.CNC01.Vib"}
    doc["connector"] = {"type": "opcua", "config": {"endpoint": "opc.tcp://10.20.30.40:4840", "username": "op",
                                                    "password": "비밀번호123"}}
    (dst / "pilot.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    (dst / "knowledge" / "대구모빌리티-설비이력.md").write_text(
        "# 대구모빌리티 CNC-01 정비 이력\n2026-03-02 베어링 교체 (협력사 담당자 010-1234-5678)\n", encoding="utf-8")
    (dst / "knowledge" / "vibration-log.csv").write_text("time,vib\n2026-01-01T00:00:00,2.1\n", encoding="utf-8")
    return dst / "pilot.yaml"


def test_export_refuses_without_a_passed_gate(fp_home: Path) -> None:
    with pytest.raises(ConfigError, match="has not passed its evaluation gate"):
        export_template("mobility", fp_home / "out", home=fp_home)
    _gate_report(fp_home, passed=False)
    assert not gate_status("mobility-cnc", fp_home).passed
    with pytest.raises(ConfigError, match="gate failed"):
        export_template("mobility", fp_home / "out", home=fp_home)
    assert not (fp_home / "out" / "mobility-cnc-0.1.0").exists()


def test_export_after_the_gate_passed(fp_home: Path) -> None:
    report = _gate_report(fp_home, passed=True)
    path = export_template("mobility", fp_home / "out", home=fp_home)
    manifest, spec, _ = load_template(path)
    assert manifest.gate.passed
    assert not manifest.gate.overridden
    assert manifest.gate.report == report.name
    assert spec.id == "mobility-cnc"
    assert spec.bindings == {}
    assert spec.connector is None
    assert len(spec.playbooks) == 4  # two plant playbooks, the note-only sensor-frozen one and the plant-alarm one
    assert spec.policy.tags
    assert manifest.scenarios == len(spec.scenarios) > 0
    assert set(manifest.files) == {"pilot.yaml"}  # no knowledge declared generic: none travels


def test_override_is_explicit_and_recorded_in_the_ledger(fp_home: Path) -> None:
    path = export_template("mobility", fp_home / "out", home=fp_home, override_reason="시범 보급 1차 (위원회 승인)",
                           by="kim")
    manifest, _, _ = load_template(path)
    assert manifest.gate.overridden
    assert manifest.gate.by == "kim"
    assert not manifest.gate.passed
    with Ledger(fp_home / "ledger.sqlite") as ledger:
        rec = ledger.records(kind="template.gate_override")[-1]
        assert rec.payload["reason"] == "시범 보급 1차 (위원회 승인)"
        assert rec.seq == manifest.gate.ledger_seq
        assert ledger.verify().ok
    with pytest.raises(ConfigError):
        export_template("mobility", fp_home / "out", home=fp_home, override_reason="  ")


def test_exported_package_contains_no_company_data(fp_home: Path, tmp_path: Path) -> None:
    spec_path = _lead_pilot(tmp_path)
    # the lead's spec itself is full of company data: the scan sees it
    assert len(scan_tree(spec_path.parent, markers=["대구모빌리티"])) >= 5
    path = export_template(spec_path, fp_home / "out", home=fp_home, override_reason="test", by="t",
                           generic=["knowledge/cnc-sop-m07.md", "knowledge/cnc-sop-m07.ko.md"],
                           markers=["대구모빌리티"], as_zip=True)
    assert path.suffix == ".zip"
    assert scan_tree(path, markers=["대구모빌리티"]) == []
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        text = "\n".join(zf.read(n).decode("utf-8") for n in names)
    assert names == {"template.yaml", "pilot.yaml", "knowledge/cnc-sop-m07.md", "knowledge/cnc-sop-m07.ko.md"}
    for secret in ("10.20.30.40", "opc.tcp://", "비밀번호123", "password", "ns=2;", "대구모빌리티", "010-1234",
                   "vibration-log", str(tmp_path)):
        assert secret not in text, secret


def test_company_data_in_a_generic_file_refuses_the_export(fp_home: Path, tmp_path: Path) -> None:
    spec_path = _lead_pilot(tmp_path)
    with pytest.raises(DataError, match="company name"):
        export_template(spec_path, fp_home / "out", home=fp_home, override_reason="t", by="t",
                        generic=["knowledge/대구모빌리티-설비이력.md"], markers=["대구모빌리티"])
    with pytest.raises(DataError, match="data/credential file type"):
        export_template(spec_path, fp_home / "out", home=fp_home, override_reason="t", by="t",
                        generic=["knowledge/vibration-log.csv"])
    leaky = spec_path.parent / "knowledge" / "접속.md"
    leaky.write_text("서버: opc.tcp://192.168.0.7:4840\n", encoding="utf-8")
    with pytest.raises(DataError, match="endpoint"):
        export_template(spec_path, fp_home / "out", home=fp_home, override_reason="t", by="t",
                        generic=["knowledge/접속.md"])
    assert not (fp_home / "out" / "mobility-cnc-0.1.0").exists()


def test_scenarios_that_replay_recorded_data_are_dropped(fp_home: Path, tmp_path: Path) -> None:
    spec_path = _lead_pilot(tmp_path)
    doc = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    scen = yaml.safe_load((spec_path.parent / "scenarios.yaml").read_text(encoding="utf-8"))["scenarios"]
    replay = {"id": "recorded-week", "duration_ticks": 50, "expect": {"detect": False},
              "replay": {"path": "vibration-log.csv", "columns": {"vib": "spindle_vibration"}}}
    doc["scenarios"] = [*scen, replay]
    spec_path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    assert len(load_spec(spec_path).scenarios) == len(scen) + 1
    path = export_template(spec_path, fp_home / "out", home=fp_home, override_reason="t", by="t")
    _, spec, _ = load_template(path)
    assert [s.id for s in spec.scenarios] == [s["id"] for s in scen]  # type: ignore[union-attr]


def test_a_modified_template_is_refused(fp_home: Path) -> None:
    path = export_template("mobility", fp_home / "out", home=fp_home, override_reason="t", by="t")
    pilot = path / "pilot.yaml"
    pilot.write_text(pilot.read_text(encoding="utf-8").replace("max_step: 20", "max_step: 80"), encoding="utf-8")
    with pytest.raises(DataError, match="modified after export"):
        load_template(path)
    with pytest.raises(ConfigError, match="not a template"):
        load_template(fp_home)


def test_a_gate_passed_on_a_subset_of_scenarios_does_not_count(fp_home: Path) -> None:
    """Reports as the evaluation harness writes them list the scenarios they ran."""
    spec_path = reference_pilots()["mobility"]
    ids = [s["id"] for s in yaml.safe_load((spec_path.parent / "scenarios.yaml").read_text("utf-8"))["scenarios"]]
    out = fp_home / "reports" / "mobility-cnc" / "20261125T100000Z"
    out.mkdir(parents=True)
    body = {"pilot": "mobility-cnc", "gate_passed": True, "metrics": {"detection_rate": 1.0},
            "scenarios": [{"id": ids[0]}]}
    (out / "report.json").write_text(json.dumps(body), encoding="utf-8")
    with pytest.raises(ConfigError, match="gate passed on a subset"):
        export_template("mobility", fp_home / "out", home=fp_home)
    body["scenarios"] = [{"id": i} for i in ids]
    (out / "report.json").write_text(json.dumps(body), encoding="utf-8")
    manifest, _, _ = load_template(export_template("mobility", fp_home / "out", home=fp_home))
    assert manifest.gate.passed
    assert manifest.gate.metrics == {"detection_rate": 1.0}


def test_a_reference_pilot_s_catalog_manifest_is_its_exported_manifest(fp_home: Path) -> None:
    """The catalogue's entry of a reference pilot and the manifest of its exported template are made by one
    function (``TemplateManifest.of``): the same roles, KPIs, scenario count, keywords and fit statements; only
    the creation time, the gate record and the file hashes differ."""
    from factorypilot.pilots.spreading.catalog import reference_entries

    pkg = export_template("robotics", fp_home / "templates", home=fp_home, override_reason="manifest test", by="t")
    exported, _, _ = load_template(pkg)
    entry = next(e for e in reference_entries(fp_home) if e.manifest.id == exported.id)
    differ = {"created", "gate", "files"}
    assert entry.manifest.model_dump(exclude=differ) == exported.model_dump(exclude=differ)
    assert entry.manifest.created == "reference"
    assert entry.manifest.files == {}
    assert "pilot.yaml" in exported.files  # every file of the package, hashed
    assert entry.manifest.scenarios == exported.scenarios > 0
