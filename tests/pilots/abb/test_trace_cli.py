"""``factorypilot trace``: record, show, verify, and a one-line error when the lot was tampered with."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from factorypilot.cli._app import app
from factorypilot.cli._commands import register
from factorypilot.errors import ConfigError, LedgerIntegrityError

register(app)
runner = CliRunner()


def test_record_show_and_verify(tmp_path: Path) -> None:
    rec = runner.invoke(app, ["trace", "--record", "--lots", "5", "--home", str(tmp_path), "--lang", "ko"])
    assert rec.exit_code == 0, rec.output
    assert "근본 원인" in rec.output
    assert "st30-weld" in rec.output
    shown = runner.invoke(app, ["trace", "LOT-260105-003", "--verify", "--home", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    assert "st30-weld" in shown.output
    assert "verified" in shown.output
    data = json.loads(runner.invoke(app, ["trace", "LOT-260105-003", "--json", "--home", str(tmp_path)]).output)
    assert data["ok"] is True
    assert [r["payload"]["station"] for r in data["records"]][-1] == "summary"
    assert all(len(r["hash"]) == 64 for r in data["records"])


def test_tampered_lot_fails_verify(tmp_path: Path) -> None:
    assert runner.invoke(app, ["trace", "--record", "--lots", "3", "--home", str(tmp_path)]).exit_code == 0
    db = sqlite3.connect(tmp_path / "ledger.sqlite")
    db.execute("UPDATE ledger SET payload = replace(payload, 'st10-press', 'st10-PRESS') WHERE seq = 1")
    db.commit()
    db.close()
    res = runner.invoke(app, ["trace", "LOT-260105-001", "--verify", "--home", str(tmp_path)])
    assert res.exit_code == 1
    assert isinstance(res.exception, LedgerIntegrityError)  # main() prints it as one line
    assert "edited" in str(res.exception)


def test_no_lot_and_no_record_is_a_usage_error(tmp_path: Path) -> None:
    res = runner.invoke(app, ["trace", "--home", str(tmp_path)])
    assert res.exit_code != 0
    assert isinstance(res.exception, ConfigError)
    assert "lot number" in str(res.exception)
