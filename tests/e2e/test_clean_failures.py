"""Each of these used to print a traceback; now it is one line saying what, where and what to do."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from factorypilot._sqlite import storage_error
from factorypilot.pilots.runtime import reference_pilots

from ._fault_cells import EXE, env

if TYPE_CHECKING:
    from conftest import Unprivileged


def _cli(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *argv], env=env(home), capture_output=True, text=True, timeout=120)


def _one_line(out: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_simulator_port_errors_are_one_line(tmp_path: Path) -> None:
    _one_line(_cli(tmp_path, "simulator", "run", "--port", "-5"), "port -5 is not a TCP port")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        _one_line(_cli(tmp_path, "simulator", "run", "--port", str(port)), f"cannot listen on 127.0.0.1:{port}")


@pytest.mark.parametrize("url", ["opc.tcp://127.0.0.1:notaport/x", "opc.tcp://[::1", "http//plant"])
def test_malformed_endpoint_is_one_line(tmp_path: Path, url: str) -> None:
    _one_line(_cli(tmp_path, "connect", "browse", url), "endpoint", "opc.tcp://192.168.0.10:4840")


def test_unknown_roles_in_a_bindings_file_are_an_error(tmp_path: Path) -> None:
    bindings = tmp_path / "b.yaml"
    bindings.write_text(yaml.safe_dump({"feed_override": "ns=2;s=feed", "spindle_vibraton": "ns=2;s=vib"}))
    out = _cli(tmp_path, "pilot", "run", str(reference_pilots()["mobility"]), "--endpoint",
               "opc.tcp://127.0.0.1:4840", "--bindings", str(bindings), "--no-knowledge")
    _one_line(out, "spindle_vibraton", "roles of mobility-cnc")


def test_runs_prune_drops_checkpoints_of_finished_runs_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert _cli(home, "demo").returncode == 0
    db = sqlite3.connect(home / "checkpoints.sqlite")
    threads = {r[0] for r in db.execute("SELECT DISTINCT thread_id FROM checkpoints")}
    db.close()
    assert len(threads) == 1
    out = _cli(home, "runs", "prune", "--keep", "0")
    assert out.returncode == 0, out.stderr
    assert "dropped checkpoints of 1 finished run(s)" in out.stdout
    db = sqlite3.connect(home / "checkpoints.sqlite")
    assert db.execute("SELECT count(*) FROM checkpoints").fetchone() == (0,)
    db.close()
    assert "done" in _cli(home, "runs", "list").stdout  # the run itself is kept
    assert _cli(home, "ledger", "verify").returncode == 0


def test_a_readonly_database_error_names_the_file_and_the_fix(tmp_path: Path) -> None:
    """The translation itself, on a real SQLite error (a database opened read-only, then written)."""
    path = tmp_path / "agent.sqlite"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as raw:
        db.execute("INSERT INTO t VALUES (1)")
    db.close()
    err = storage_error(path, raw.value, "write to")
    assert str(err).startswith("cannot write to agent.sqlite: the file is read-only")
    assert "FACTORYPILOT_HOME must be writable" in str(err)


def test_readonly_home_is_one_line_for_writers_and_readable_for_readers(tmp_path: Path,
                                                                        unprivileged: Unprivileged) -> None:
    """A home the user may read but not write (as root: without CAP_DAC_OVERRIDE, so permissions apply)."""
    home = tmp_path / "home"
    assert _cli(home, "demo").returncode == 0  # written by its owner
    for p in home.rglob("*"):
        p.chmod(0o444 if p.is_file() else 0o555)
    home.chmod(0o555)
    before = sorted(p.name for p in home.iterdir())

    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        return unprivileged.run([EXE, *argv], env(home))

    try:
        verified = cli("ledger", "verify")
        assert verified.returncode == 0, verified.stderr
        assert "ledger intact" in verified.stdout
        shown = cli("ledger", "show", "--kind", "action", "--json")
        assert shown.returncode == 0, shown.stderr
        assert '"kind": "action"' in shown.stdout
        listed = cli("runs", "list")
        assert listed.returncode == 0, listed.stderr
        assert "done" in listed.stdout
        _one_line(cli("runs", "approve", "nope", "--by", "kim"), "read-only")
        _one_line(cli("pilot", "run", "mobility", "--simulate", "--no-knowledge", "--max-runs", "1"), "read-only")
        assert sorted(p.name for p in home.iterdir()) == before  # the readers left nothing behind (no WAL)
    finally:
        for p in [home, *home.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)
