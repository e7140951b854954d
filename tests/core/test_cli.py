"""Every command has --help with an example; errors are one line with a non-zero exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from factorypilot.cli._app import app
from factorypilot.cli._commands import register

EXE = str(Path(sys.executable).with_name("factorypilot"))


def _leaf_commands() -> list[tuple[str, ...]]:
    register(app)
    root = get_command(app)
    out: list[tuple[str, ...]] = []

    def walk(cmd: click.Command, path: tuple[str, ...]) -> None:
        subs = getattr(cmd, "commands", None)  # a group (click's or Typer's vendored click)
        if subs:
            for name, sub in subs.items():
                walk(sub, (*path, name))
        else:
            out.append(path)

    walk(root, ())
    return out


@pytest.mark.parametrize("path", _leaf_commands(), ids=lambda p: " ".join(p))
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output, f"'factorypilot {' '.join(path)} --help' shows no example"


def test_expected_commands_exist() -> None:
    names = {" ".join(p) for p in _leaf_commands()}
    for cmd in ("version", "demo", "simulator run", "connect browse", "connect read", "connect watch",
                "ledger show", "ledger verify", "runs list", "runs approve", "runs reject", "pilot run",
                "pilot validate", "pilot describe", "mes ingest", "knowledge query"):
        assert cmd in names


def test_error_is_one_line_without_traceback(tmp_path: Path) -> None:
    proc = subprocess.run([EXE, "pilot", "validate", str(tmp_path / "nope.yaml")], capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin", "FACTORYPILOT_HOME": str(tmp_path)})
    assert proc.returncode == 1
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "no pilot spec" in lines[0]
    assert "Traceback" not in proc.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    proc = subprocess.run([EXE, "--debug", "pilot", "validate", str(tmp_path / "nope.yaml")], capture_output=True,
                          text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "FACTORYPILOT_HOME": str(tmp_path)})
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr


def test_unknown_spec_key_is_named(tmp_path: Path) -> None:
    spec = tmp_path / "pilot.yaml"
    spec.write_text("id: x\nsector: mobility\ntitle: t\nroles: {}\npolcy: {}\n", encoding="utf-8")
    register(app)
    result = CliRunner().invoke(app, ["pilot", "validate", str(spec)])
    assert result.exit_code != 0
    assert isinstance(result.exception, Exception)
    assert "unknown key 'polcy'" in str(result.exception)


def test_usage_error_exit_code_2() -> None:
    proc = subprocess.run([EXE, "ledger", "show", "--limit", "many"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2


def test_version() -> None:
    register(app)
    result = CliRunner().invoke(app, ["version"])
    assert result.exit_code == 0
    import factorypilot

    assert result.output.strip() == factorypilot.__version__
    assert isinstance(app, typer.Typer)
