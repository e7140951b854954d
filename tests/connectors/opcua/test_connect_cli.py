"""``factorypilot connect browse|read|watch`` against the real test server."""

from __future__ import annotations

import pytest
from _plant import OpcUaTestPlant, free_port
from typer.testing import CliRunner

from factorypilot.cli._app import app
from factorypilot.cli._commands import register
from factorypilot.errors import ConnectionError_

register(app)
runner = CliRunner()


def test_help_has_examples() -> None:
    for cmd in ("browse", "read", "watch"):
        result = runner.invoke(app, ["connect", cmd, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        assert "Example:" in result.output
        assert "factorypilot connect" in result.output


def test_browse_prints_korean_and_english_names(plant: OpcUaTestPlant) -> None:
    result = runner.invoke(app, ["connect", "browse", plant.endpoint, "--namespace", "2"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "ns=2;s=CNC1.SpindleSpeed" in result.output
    assert "주축 속도" in result.output
    assert "Spindle speed" in result.output
    assert "rpm" in result.output


def test_read_prints_values(plant: OpcUaTestPlant) -> None:
    result = runner.invoke(app, ["connect", "read", plant.endpoint, plant.node_id("Bulk.B0007"),
                                 plant.node_id("Bulk.B0002")], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "7.0" in result.output
    assert "2.0" in result.output
    assert "good" in result.output


def test_watch_stops_after_count(plant: OpcUaTestPlant) -> None:
    result = runner.invoke(app, ["connect", "watch", plant.endpoint, plant.node_id("Vibration"),
                                 plant.node_id("Bulk.B0005"), "--count", "2", "--period", "0.05"],
                           env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert plant.node_id("Vibration") in result.output
    assert plant.node_id("Bulk.B0005") in result.output


def test_watch_stops_after_seconds(plant: OpcUaTestPlant) -> None:
    result = runner.invoke(app, ["connect", "watch", plant.endpoint, plant.node_id("Bulk.B0009"), "--seconds", "0.5",
                                 "--period", "0.05"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "9.0" in result.output


def test_password_comes_from_env_or_prompt_never_a_flag(plant: OpcUaTestPlant) -> None:
    # the test server allows anonymous and any user: what matters is where the password is taken from
    prompted = runner.invoke(app, ["connect", "read", plant.endpoint, plant.node_id("Program"), "-u", "operator"],
                             input="typed-secret\n", env={"COLUMNS": "250"})
    assert prompted.exit_code == 0, prompted.output
    assert "password for operator" in prompted.output
    assert "typed-secret" not in prompted.output
    from_env = runner.invoke(app, ["connect", "read", plant.endpoint, plant.node_id("Program"), "-u", "operator"],
                             env={"COLUMNS": "250", "FACTORYPILOT_OPCUA_PASSWORD": "env-secret"})
    assert from_env.exit_code == 0
    assert "password for operator" not in from_env.output
    assert "sent without encryption" in from_env.output  # security None: the user is warned
    no_flag = runner.invoke(app, ["connect", "read", plant.endpoint, "x", "--password", "p"])
    assert no_flag.exit_code == 2


def test_unreachable_endpoint_is_a_typed_error() -> None:
    url = f"opc.tcp://127.0.0.1:{free_port()}"
    result = runner.invoke(app, ["connect", "read", url, "ns=2;s=X", "--timeout", "2"])
    assert isinstance(result.exception, ConnectionError_)
    assert url in str(result.exception)


@pytest.mark.slow
def test_console_script_prints_one_line_error() -> None:
    import subprocess
    import sys
    from pathlib import Path

    # The console script installed beside the running interpreter (any virtualenv, any machine).
    script = Path(sys.executable).parent / "factorypilot"
    assert script.exists(), f"console script not installed next to {sys.executable}"
    url = f"opc.tcp://127.0.0.1:{free_port()}"
    proc = subprocess.run([str(script), "connect", "browse", url, "--timeout", "2"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1
    assert "error:" in proc.stderr
    assert "factorypilot connect browse" in proc.stderr
    assert "Traceback" not in proc.stderr
