from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factorypilot.cli._app import app
from factorypilot.cli._commands import register


@pytest.fixture
def runner() -> CliRunner:
    register(app)
    return CliRunner()


def test_inspect_ingest_query_round_trip(runner: CliRunner, write_ko_csv: Callable[..., Path],
                                         tmp_path: Path, fp_home: Path) -> None:
    path = write_ko_csv(rows=["CNC-01,2026-11-25 07:00:00,120,3,WO-1,A", "CNC-01,2026-11-25 08:00:00,x,3,WO-1,A"])
    shown = runner.invoke(app, ["mes", "inspect", str(path)])
    assert shown.exit_code == 0, shown.output
    assert "cp949" in shown.output
    assert "양품수량" in shown.output
    assert "accepted 1 / quarantined 1" in shown.output

    refused = runner.invoke(app, ["mes", "ingest", str(path), "--source", "cli-test"])  # no mapping, no --kind
    assert refused.exit_code != 0
    assert "no mapping covers this file" in str(refused.exception)
    dry = runner.invoke(app, ["mes", "ingest", str(path), "--source", "cli-test", "--kind", "production", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "DRY RUN" in dry.output
    assert "accepted 1 (new 1, replaced 0, duplicates 0) / quarantined 1" in dry.output
    mes_home = fp_home / "mes"
    assert not mes_home.exists(), sorted(mes_home.rglob("*"))  # the dry run created no store, no folder
    first = runner.invoke(app, ["mes", "ingest", str(path), "--source", "cli-test", "--kind", "production"])
    assert first.exit_code == 0, first.output
    assert "accepted 1 (new 1, replaced 0, duplicates 0) / quarantined 1 / conflicts 0" in first.output
    again = runner.invoke(app, ["mes", "ingest", str(path), "--source", "cli-test", "--kind", "production"])
    assert "accepted 1 (new 0, replaced 0, duplicates 1) / quarantined 1 / conflicts 0" in again.output
    store = mes_home / "cli-test.sqlite"

    def content() -> list[tuple[object, ...]]:
        db = sqlite3.connect(store)
        try:
            return db.execute("SELECT * FROM production").fetchall() + db.execute("SELECT * FROM ingests").fetchall()
        finally:
            db.close()

    before = content()
    dry_again = runner.invoke(app, ["mes", "ingest", str(path), "--source", "cli-test", "--kind", "production",
                                    "--dry-run"])
    assert "accepted 1 (new 0, replaced 0, duplicates 1) / quarantined 1" in dry_again.output
    assert content() == before  # nothing stored, nothing logged as an ingest

    rate = runner.invoke(app, ["mes", "query", "scrap-rate", "--source", "cli-test"])
    assert rate.exit_code == 0, rate.output
    assert "2.44%" in rate.output  # 3 / (120 + 3)
    recs = runner.invoke(app, ["mes", "query", "records", "--kind", "production", "--source", "cli-test", "--json"])
    assert [json.loads(x)["good"] for x in recs.output.splitlines()] == [120]
    down = runner.invoke(app, ["mes", "query", "downtime", "--source", "cli-test"])
    assert "no downtime data" in down.output


def test_config_file_and_errors(runner: CliRunner, tmp_path: Path, write_ko_csv: Callable[..., Path]) -> None:
    cfg = tmp_path / "mes.yaml"
    cfg.write_text("source: yaml-src\nmappings:\n  - kind: production\n    encoding: cp949\n", encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("source: x\nwatchdir: /tmp\n", encoding="utf-8")
    path = write_ko_csv()
    ok = runner.invoke(app, ["mes", "ingest", str(path), "--config", str(cfg)])
    assert ok.exit_code == 0, ok.output
    assert "accepted 4" in ok.output
    wrong = runner.invoke(app, ["mes", "ingest", str(path), "--config", str(bad)])
    assert wrong.exit_code != 0
    assert "watchdir" in str(wrong.exception)
    missing = runner.invoke(app, ["mes", "ingest", str(tmp_path / "none.csv")])
    assert missing.exit_code != 0
    assert "no such file" in str(missing.exception)


def test_watch_once_ingests_what_is_there(runner: CliRunner, tmp_path: Path,
                                          write_ko_csv: Callable[..., Path]) -> None:
    write_ko_csv("a.csv")
    (tmp_path / "~$a.xlsx").write_bytes(b"lock")
    cfg = tmp_path / "mes.yaml"
    cfg.write_text("mappings:\n  - pattern: '*.csv'\n    kind: production\n", encoding="utf-8")
    out = runner.invoke(app, ["mes", "watch", str(tmp_path), "--once", "--source", "w", "--config", str(cfg)])
    assert out.exit_code == 0, out.output
    assert "a.csv: accepted 4" in out.output
    assert "~$" not in out.output


def test_every_mes_command_has_an_example(runner: CliRunner) -> None:
    for cmd in ("ingest", "watch", "inspect", "query", "init-mapping"):
        out = runner.invoke(app, ["mes", cmd, "--help"])
        assert out.exit_code == 0
        assert "Example:" in out.output


def test_watch_once_refuses_unmapped_files_unless_kind_is_given(runner: CliRunner, tmp_path: Path, fp_home: Path,
                                                                write_ko_csv: Callable[..., Path]) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_ko_csv(name="생산실적.csv").rename(inbox / "생산실적.csv")
    refused = runner.invoke(app, ["mes", "watch", str(inbox), "--once", "--source", "watch-test"])
    assert refused.exit_code == 0, refused.output  # the watch goes on; the file is reported as refused
    assert "no mapping covers this file" in refused.output
    assert not (fp_home / "mes" / "watch-test.sqlite").exists()
    taken = runner.invoke(app, ["mes", "watch", str(inbox), "--once", "--source", "watch-test", "--kind",
                                "production", "--encoding", "cp949"])
    assert taken.exit_code == 0, taken.output
    assert "생산실적.csv: accepted 4 (new 4, replaced 0, duplicates 0) / quarantined 0 / conflicts 0" in taken.output
    db = sqlite3.connect(fp_home / "mes" / "watch-test.sqlite")
    try:
        assert db.execute("SELECT count(*) FROM production").fetchone() == (4,)
    finally:
        db.close()
