"""Catalog (folders, index file, entry-point objects), search in Korean/English, and firm matching."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from factorypilot.cli._app import app
from factorypilot.cli._commands import register
from factorypilot.errors import ConfigError
from factorypilot.pilots.spreading.catalog import Catalog, _ep_path
from factorypilot.pilots.spreading.matching import load_profile, match_templates, parse_profile
from factorypilot.pilots.spreading.templates import MANIFEST, export_template

register(app)
runner = CliRunner()


def _healthcare(root: Path) -> Path:
    """A second template (as another lead firm would export it): a cleanroom pilot fed by MES files."""
    d = root / "cleanroom-gmp-0.2.0"
    d.mkdir(parents=True)
    manifest = {
        "id": "cleanroom-gmp", "version": "0.2.0", "sector": "healthcare",
        "title": {"en": "Cleanroom deviation watch", "ko": "클린룸 일탈 감시"},
        "description": {"en": "Particle and humidity deviations in a medical-device cleanroom; batch records.",
                        "ko": "의료기기 클린룸의 입자·습도 일탈 감지와 배치 기록"},
        "roles": {"room_humidity": {"en": "Cleanroom humidity", "ko": "클린룸 습도"}},
        "required_roles": ["room_humidity"], "kpis": ["scrap_rate"], "data_sources": ["mes-files"],
        "created": "2026-11-01T00:00:00+00:00", "factorypilot_version": "0.1.0",
        "gate": {"passed": True, "report": "report.json"}, "files": {},
    }
    (d / MANIFEST).write_text(yaml.safe_dump(manifest, allow_unicode=True), encoding="utf-8")
    return d


@pytest.fixture
def catalog_dir(fp_home: Path, tmp_path: Path) -> Path:
    root = tmp_path / "catalog"
    export_template("mobility", root, home=fp_home, override_reason="catalog test", by="t")
    _healthcare(root)
    return root


def test_catalog_from_folder_and_index(catalog_dir: Path, tmp_path: Path) -> None:
    cat = Catalog.discover(folders=[catalog_dir])
    assert [e.id for e in cat.list()] == ["cleanroom-gmp", "mobility-cnc"]
    assert cat.get("mobility-cnc-0.1.0").title("ko") == "CNC 주축 이상 대응"
    index = tmp_path / "index.yaml"
    index.write_text("templates:\n  - path: catalog/cleanroom-gmp-0.2.0\n", encoding="utf-8")
    only = Catalog.discover(index=index, use_entry_points=False)
    assert [e.id for e in only.list()] == ["cleanroom-gmp"]
    assert only.list()[0].source == "index index.yaml"
    index.write_text("templates:\n  - path: nowhere\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no template at nowhere"):
        Catalog.discover(index=index)
    with pytest.raises(ConfigError, match="no template 'robot-cell'"):
        cat.get("robot-cell")


def test_entry_point_objects_resolve_to_template_folders(catalog_dir: Path) -> None:
    folder = catalog_dir / "cleanroom-gmp-0.2.0"
    module = types.ModuleType("fp_templates_cleanroom")
    module.__file__ = str(folder / "__init__.py")
    assert _ep_path(module) == folder
    assert _ep_path(lambda: str(folder)) == folder
    assert _ep_path(folder) == folder
    assert _ep_path(42) is None


def test_search_korean_and_english(catalog_dir: Path) -> None:
    cat = Catalog.discover(folders=[catalog_dir])
    assert cat.search("스핀들 진동")[0][0].id == "mobility-cnc"
    assert cat.search("spindle vibration")[0][0].id == "mobility-cnc"
    assert cat.search("클린룸 습도")[0][0].id == "cleanroom-gmp"
    assert cat.search("용접 로봇 xyz") == []


def test_match_ranks_and_explains_in_korean(catalog_dir: Path, tmp_path: Path) -> None:
    """The first profile format still works (converted, with a warning) against templates exported before
    ``solves`` existed (title and description stand in) and ones that declare it."""
    profile = tmp_path / "firm.yaml"
    profile.write_text("name: 성서정밀\nsector: 자동차부품\nequipment: [CNC 머시닝센터, 유압프레스]\n"
                       "data_sources: [OPC-UA]\ngoals: [주축 진동으로 인한 비가동 시간 감소, 불량 감소]\n",
                       encoding="utf-8")
    prof, warnings = load_profile(profile)
    assert any("old profile format" in w for w in warnings)
    ranked = match_templates(prof, Catalog.discover(folders=[catalog_dir]))
    assert [m.entry.id for m in ranked] == ["mobility-cnc", "cleanroom-gmp"]
    best, other = ranked
    assert best.score > other.score
    ko = best.explain("ko")
    assert any(line.startswith("목표 “주축 진동으로 인한 비가동 시간 감소”") for line in ko)
    assert "업종 힌트 “자동차부품” → mobility" in ko
    assert any("비가동 시간" in line and line.startswith("관련 KPI") for line in ko)
    assert any("필요 데이터가 없음: mes-files (프로필: 기재 없음)" in r for r in other.explain("ko"))


def test_match_english_profile_for_a_medical_firm(catalog_dir: Path) -> None:
    prof, _ = parse_profile({"company": {"name": "MedTech"}, "sector_hint": "medical devices",
                             "equipment": ["cleanroom"], "data_sources": {"mes": {"export_formats": ["csv"]}},
                             "goals": ["catch humidity and particle deviations in our cleanroom"]}, where="x")
    ranked = match_templates(prof, Catalog.discover(folders=[catalog_dir]))
    assert ranked[0].entry.id == "cleanroom-gmp"
    assert "sector hint “medical devices” → healthcare" in ranked[0].explain("en")


def test_exported_template_carries_what_it_solves(catalog_dir: Path) -> None:
    from factorypilot.pilots.runtime import resolve_spec

    spec, _ = resolve_spec("mobility")
    entry = Catalog.discover(folders=[catalog_dir]).get("mobility-cnc")
    assert entry.manifest.solves == spec.solves
    assert len(spec.solves) >= 4
    assert entry.manifest.needs == spec.needs
    assert entry.manifest.not_for == spec.not_for
    carried = yaml.safe_load((entry.path / "pilot.yaml").read_text(encoding="utf-8"))
    assert carried["solves"][0]["ko"] == spec.solves[0].ko
    assert any(n.get("data_source") == "opcua" for n in carried["needs"])


def test_reference_pilots_are_in_the_default_catalog(fp_home: Path, catalog_dir: Path) -> None:
    ref = Catalog.discover(reference=True, home=fp_home, use_entry_points=False)
    assert sorted(e.id for e in ref.list()) == ["abb-traceability", "healthcare-cleanroom", "mobility-cnc",
                                                "robotics-weld-cell"]
    assert all(e.reference and not e.manifest.gate.passed for e in ref.list())
    assert all(e.manifest.solves for e in ref.list())
    both = Catalog.discover(folders=[catalog_dir], reference=True, home=fp_home, use_entry_points=False)
    assert not both.get("mobility-cnc").reference           # an exported template wins over the reference
    assert both.get("robotics-weld-cell").reference


def test_reference_pilot_carries_its_gate_result(fp_home: Path) -> None:
    from factorypilot.pilots.evaluation.scenarios import load_scenario_file
    from factorypilot.pilots.runtime import resolve_spec

    spec, path = resolve_spec("robotics")
    assert isinstance(spec.scenarios, str)
    ids = [s.id for s in load_scenario_file(path.parent / spec.scenarios)]
    reports = fp_home / "reports" / spec.id
    reports.mkdir(parents=True)
    (reports / "report.json").write_text(json.dumps({"gate": {"passed": True}, "metrics": {"detection_rate": 1.0},
                                                     "scenarios": [{"id": i} for i in ids]}), encoding="utf-8")
    entry = Catalog.discover(reference=True, home=fp_home, use_entry_points=False).get("robotics-weld-cell")
    assert entry.manifest.gate.passed
    assert entry.manifest.gate.report == "report.json"
    assert entry.manifest.gate.metrics == {"detection_rate": 1.0}
    prof, _ = parse_profile({"goals": ["robot faults stop the cell"]}, where="x")
    ranked = match_templates(prof, Catalog.discover(reference=True, home=fp_home, use_entry_points=False))
    assert ranked[0].entry.id == "robotics-weld-cell"
    assert "reference pilot, passed its evaluation gate (report.json)" in ranked[0].explain("en")
    out = runner.invoke(app, ["catalog", "show", "robotics-weld-cell", "--lang", "ko"])
    assert out.exit_code == 0
    assert f"solves: {spec.solves[0].ko}" in out.output
    assert "source: reference pilot robotics" in out.output


def test_a_tie_is_reported_never_broken_by_name(catalog_dir: Path, tmp_path: Path) -> None:
    twin = tmp_path / "twins"
    for name in ("zeta-gmp", "alpha-gmp"):
        d = twin / name
        d.mkdir(parents=True)
        m = yaml.safe_load((catalog_dir / "cleanroom-gmp-0.2.0" / MANIFEST).read_text(encoding="utf-8"))
        m["id"] = name
        (d / MANIFEST).write_text(yaml.safe_dump(m, allow_unicode=True), encoding="utf-8")
    prof, _ = parse_profile({"goals": ["클린룸 습도 일탈"]}, where="x")
    ranked = match_templates(prof, Catalog.discover(folders=[twin], use_entry_points=False))
    assert ranked[0].score == ranked[1].score
    assert ranked[0].tied
    assert ranked[1].tied
    assert any(line.startswith("tie:") for line in ranked[0].explain("en"))


def test_catalog_and_match_cli(catalog_dir: Path, tmp_path: Path) -> None:
    out = runner.invoke(app, ["catalog", "list", "--catalog", str(catalog_dir)], catch_exceptions=False)
    assert out.exit_code == 0
    assert "cleanroom-gmp" in out.output
    assert "mobility-cnc" in out.output
    assert "robotics-weld-cell" in out.output   # reference pilots are in the default catalog
    out = runner.invoke(app, ["catalog", "search", "주축 진동", "--catalog", str(catalog_dir)])
    assert out.exit_code == 0
    assert "mobility-cnc" in out.output
    assert "cleanroom-gmp" not in out.output
    out = runner.invoke(app, ["catalog", "show", "mobility-cnc", "--catalog", str(catalog_dir), "--lang", "ko"])
    assert out.exit_code == 0
    assert "spindle_vibration" in out.output
    assert "override" in out.output
    profile = tmp_path / "firm.yaml"
    profile.write_text("company: {name: 성서정밀}\nsector_hint: 모빌리티\ngoals: [주축 과열로 설비가 멈춤]\n"
                       "data_sources: {opcua: {available: true}}\nsectr: typo\n", encoding="utf-8")
    out = runner.invoke(app, ["match", str(profile), "--catalog", str(catalog_dir), "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    firm = data["firms"][0]
    assert firm["ranking"][0]["template"] == "mobility-cnc"
    assert "업종 힌트 “모빌리티” → mobility" in firm["ranking"][0]["reasons"]
    assert any("sectr" in w for w in firm["warnings"])      # unknown key: a warning, not a refusal
    assert data["summary"] == [{"firm": "firm", "start_with": "mobility-cnc", "confidence": firm["confidence"],
                                "close_call": firm["close_call"], "second": firm["ranking"][1]["template"]}]
    bad = tmp_path / "bad.yaml"
    bad.write_text("goals: {a: 1}\n", encoding="utf-8")
    result = runner.invoke(app, ["match", str(bad), "--catalog", str(catalog_dir)])
    assert result.exit_code == 1
    assert "goals: expected a list of sentences" in str(result.exception)


def test_match_on_a_fresh_install_and_with_an_empty_catalog(fp_home: Path, tmp_path: Path) -> None:
    profile = tmp_path / "firm.yaml"
    profile.write_text("goals: [로봇 알람으로 셀이 자주 멈춘다]\n", encoding="utf-8")
    out = runner.invoke(app, ["match", str(profile), "--format", "json"])
    assert out.exit_code == 0, out.output
    ranking = json.loads(out.stdout)["firms"][0]["ranking"]
    assert next(r["template"] for r in ranking) == "robotics-weld-cell"
    assert len(ranking) == 4
    assert all(r["reference"] for r in ranking)
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["match", str(profile), "--no-reference", "--catalog", str(empty)])
    assert result.exit_code == 1
    assert isinstance(result.exception, ConfigError)
    assert "catalog is empty" in str(result.exception)
    assert "factorypilot template export" in str(result.exception)


def test_match_a_folder_markdown_and_json(fp_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "firms"
    folder.mkdir()
    (folder / "a.yaml").write_text("language: ko\ncompany: {name: 가나정밀}\n"
                                   "goals: [CNC 주축 베어링 고장으로 라인이 선다]\n", encoding="utf-8")
    (folder / "b.json").write_text(json.dumps({"company": {"name": "B Med"}, "language": "en",
                                               "goals": ["particle excursions in the cleanroom"]}),
                                   encoding="utf-8")
    (folder / "broken.yaml").write_text("goals: 5: x\n", encoding="utf-8")
    (folder / "notes.txt").write_text("not a profile", encoding="utf-8")
    out = runner.invoke(app, ["match", str(folder), "--format", "md", "--lang", "ko"])
    assert out.exit_code == 1                         # a profile could not be read: said, not dropped
    md = out.stdout
    assert "## 가나정밀 (a)" in md
    assert "## B Med (b)" in md
    assert "## 사업 요약: 기업별 시작 템플릿" in md
    assert "| 가나정밀 (a) | mobility-cnc |" in md
    assert "| B Med (b) | healthcare-cleanroom |" in md
    assert "broken.yaml" in md
    assert "notes.txt" not in md
    report = tmp_path / "m.json"
    out = runner.invoke(app, ["match", str(folder), "--format", "json", "--out", str(report)])
    data = json.loads(report.read_text(encoding="utf-8"))
    assert [s["start_with"] for s in data["summary"]] == ["mobility-cnc", "healthcare-cleanroom"]
    assert data["failures"][0]["file"] == "broken.yaml"


def test_example_and_schema_from_the_cli() -> None:
    out = runner.invoke(app, ["match", "--example"])
    assert out.exit_code == 0
    assert out.output.startswith("# 기업 프로필")
    data = yaml.safe_load(out.output)
    assert data["goals"]
    assert isinstance(data["equipment"][1], dict)
    out = runner.invoke(app, ["match", "--schema"])
    assert json.loads(out.output)["title"] == "factorypilot firm profile"
