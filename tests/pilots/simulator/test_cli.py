"""``factorypilot simulator models`` and ``simulator run`` (bounded with --ticks)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from factorypilot.cli._app import app
from factorypilot.cli._commands import register

register(app)
runner = CliRunner()


def test_models_lists_mobility() -> None:
    result = runner.invoke(app, ["simulator", "models"])
    assert result.exit_code == 0, result.output
    assert "mobility" in result.output
    assert "모빌리티" in result.output


@pytest.mark.parametrize("command", [["simulator", "--help"], ["simulator", "run", "--help"],
                                     ["simulator", "models", "--help"]])
def test_help_has_an_example(command: list[str]) -> None:
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    assert "Example" in result.output


def test_run_prints_endpoint_and_roles_then_stops_after_ticks(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulator", "run", "--port", "0", "--tick", "0.01", "--ticks", "3", "--seed", "1",
                                 "--fault", "drift:spindle_vibration:0.2", "--secure", "--cert-dir",
                                 str(tmp_path / "pki"), "--user", "operator:비밀번호123"],
                           env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    assert "opc.tcp://127.0.0.1:" in result.output
    assert "mobility.line-01.cnc-01.spindle_vibration" in result.output
    assert "fault: drift spindle_vibration" in result.output
    assert (tmp_path / "pki" / "client_cert.der").is_file()


def test_run_rejects_a_bad_fault() -> None:
    result = runner.invoke(app, ["simulator", "run", "--port", "0", "--fault", "melt:spindle_speed"])
    assert result.exit_code != 0
    assert "unknown fault kind" in str(result.exception)
