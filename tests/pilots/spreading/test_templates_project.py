"""A firm's project from a template: read-only start, folder rules, unsafe archives, ledger records."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from factorypilot.errors import ConfigError, DataError
from factorypilot.pilots.spreading.templates import Project, export_template, init_from_template, load_template
from factorypilot.pilots.spreading.templates import slug as project_slug


@pytest.fixture
def template(fp_home: Path) -> Path:
    return export_template("mobility", fp_home / "templates", home=fp_home, override_reason="t", by="t", as_zip=True)


def test_init_starts_read_only_with_the_firms_connector(template: Path, tmp_path: Path) -> None:
    project = init_from_template(template, company="성서정밀(주)", endpoint="opc.tcp://192.168.10.5:4840",
                                 dest=tmp_path / "p", lang="ko")
    spec = project.spec()
    assert spec.policy.writes_enabled is False
    assert spec.lang == "ko"
    assert spec.connector is not None
    assert spec.connector.config == {"endpoint": "opc.tcp://192.168.10.5:4840"}
    assert spec.bindings == {}
    assert set(spec.missing_roles()) == {"spindle_vibration", "feed_override", "spindle_temperature", "door_open",
                                         "machine_state"}
    with pytest.raises(ConfigError, match="unmapped required roles"):
        spec.agent_config()
    assert project.company == "성서정밀(주)"
    assert project_slug(project.company) == "성서정밀-주"
    with project.ledger() as ledger:
        assert [r.kind for r in ledger.records()] == ["template.init"]
    with pytest.raises(ConfigError, match="needs a person"):
        project.set_writes(True, by=" ", reason="x")


def test_init_refuses_a_non_empty_folder_unless_forced(template: Path, tmp_path: Path) -> None:
    dest = tmp_path / "p"
    dest.mkdir()
    (dest / "메모.txt").write_text("기존 파일", encoding="utf-8")
    with pytest.raises(ConfigError, match="not empty"):
        init_from_template(template, company="a", endpoint=None, dest=dest)
    project = init_from_template(template, company="a", endpoint=None, dest=dest, force=True)
    assert project.spec().connector is None
    assert (dest / "메모.txt").exists()
    with pytest.raises(ConfigError, match="not a pilot project"):
        Project.open(tmp_path)


def test_archives_with_unsafe_paths_are_refused(template: Path, tmp_path: Path) -> None:
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(template) as src, zipfile.ZipFile(evil, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name))
        dst.writestr("../../outside.txt", "x")
    with pytest.raises(DataError, match="unsafe path"):
        load_template(evil, unpack_to=tmp_path / "u")
    assert not (tmp_path / "outside.txt").exists()
    with pytest.raises(ConfigError, match="needs a directory"):
        load_template(template)
