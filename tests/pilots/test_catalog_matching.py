"""Catalog (folders, index file, entry-point objects), search in Korean/English, and firm matching."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from factorypilot.cli._app import app
from factorypilot.cli._commands import register
from factorypilot.errors import ConfigError
from factorypilot.pilots.catalog import Catalog, _ep_path
from factorypilot.pilots.matching import FirmProfile, load_profile, match_templates
from factorypilot.pilots.templates import MANIFEST, export_template

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
    profile = tmp_path / "firm.yaml"
    profile.write_text("name: 성서정밀\nsector: 자동차부품\nequipment: [CNC 머시닝센터, 유압프레스]\n"
                       "data_sources: [OPC-UA]\ngoals: [비가동 시간 감소, 불량 감소]\n", encoding="utf-8")
    ranked = match_templates(load_profile(profile), Catalog.discover(folders=[catalog_dir]))
    assert [m.entry.id for m in ranked] == ["mobility-cnc", "cleanroom-gmp"]
    best, other = ranked
    assert best.score > 0.8 > other.score
    ko = best.explain("ko")
    assert "동일 업종 (mobility)" in ko
    assert any("downtime" in r and "scrap_rate" in r for r in ko)
    assert any("cnc" in r for r in best.explain("en"))
    assert any("mes-files 연결 필요" in r for r in other.explain("ko"))


def test_match_english_profile_for_a_medical_firm(catalog_dir: Path) -> None:
    prof = FirmProfile(name="MedTech", sector="medical devices", equipment=["cleanroom"], data_sources=["MES csv"],
                       goals=["reduce scrap"], lang="en")
    ranked = match_templates(prof, Catalog.discover(folders=[catalog_dir]))
    assert ranked[0].entry.id == "cleanroom-gmp"
    assert "same sector (healthcare)" in ranked[0].explain("en")


def test_catalog_and_match_cli(catalog_dir: Path, tmp_path: Path) -> None:
    out = runner.invoke(app, ["catalog", "list", "--catalog", str(catalog_dir)], catch_exceptions=False)
    assert out.exit_code == 0
    assert "cleanroom-gmp" in out.output
    assert "mobility-cnc" in out.output
    out = runner.invoke(app, ["catalog", "search", "주축 진동", "--catalog", str(catalog_dir)])
    assert out.exit_code == 0
    assert "mobility-cnc" in out.output
    assert "cleanroom" not in out.output
    out = runner.invoke(app, ["catalog", "show", "mobility-cnc", "--catalog", str(catalog_dir), "--lang", "ko"])
    assert out.exit_code == 0
    assert "spindle_vibration" in out.output
    assert "override" in out.output
    profile = tmp_path / "firm.yaml"
    profile.write_text("name: 성서정밀\nsector: 모빌리티\ngoals: [다운타임]\ndata_sources: [opc-ua]\n",
                       encoding="utf-8")
    out = runner.invoke(app, ["match", str(profile), "--catalog", str(catalog_dir), "--json"])
    assert out.exit_code == 0
    import json

    data = json.loads(out.output)
    assert data[0]["template"] == "mobility-cnc"
    assert "동일 업종 (mobility)" in data[0]["reasons"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsectr: mobility\n", encoding="utf-8")
    result = runner.invoke(app, ["match", str(bad), "--catalog", str(catalog_dir)])
    assert result.exit_code == 1
    assert "sectr" in str(result.exception)
