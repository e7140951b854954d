"""End to end: the demo's run on the real simulator over real OPC-UA, with the real ledger and stores."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from factorypilot.cli._app import app
from factorypilot.cli._commands import register
from factorypilot.pilots.demo import run_demo


async def test_demo_detects_acts_once_reads_back_and_ledger_verifies(tmp_path: Path) -> None:
    result = await run_demo(home=tmp_path, seed=7)
    report = result.outcome.report
    assert report is not None
    assert report["status"] == "done"
    assert [o["role"] for o in report["observed"]] == ["spindle_vibration"]
    # exactly one write reached the plant, and it is the one the pilot reported
    assert [(role, value) for _, role, value in result.writes] == [("feed_override", 85.0)]
    write = next(r for r in report["results"] if r["request"]["kind"] == "write")
    assert write["status"] == "done"
    assert write["read_back"]["value"] == 85.0
    assert write["from"] == 100.0
    assert result.notes
    assert "CNC-01" in result.notes[0]["text"]
    assert report["citations"], "the SOP should be cited"
    assert result.ledger.ok
    assert len(report["ledger_ids"]) >= 8
    assert result.vibration_after < result.vibration_peak

    # the ledger CLI sees the same ledger and verifies it
    register(app)
    out = CliRunner().invoke(app, ["ledger", "verify", "--path", str(tmp_path / "ledger.sqlite")])
    assert out.exit_code == 0, out.output
    assert "ledger intact" in out.output


def test_demo_command_exits_zero_and_prints_the_report(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("factorypilot")
    proc = subprocess.run([str(exe), "demo", "--lang", "ko"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "COLUMNS": "140"})
    assert proc.returncode == 0, proc.stderr
    assert "변경 내용" in proc.stdout
    assert "chain verified" in proc.stdout
    assert (tmp_path / ".factorypilot" / "ledger.sqlite").exists()
