"""The pilot service under faults, as real processes: one owner per pilot and home, two pilots sharing a home,
an approval given while the plant is down, a tampered ledger head, and a corrupted home — each a clean line."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from factorypilot.agents import Ledger
from factorypilot.pilots.runtime import reference_pilots
from factorypilot.pilots.simulator import PlantHandle, running_plant

from ._fault_cells import EXE, env, excite


@pytest.fixture
def plant() -> Iterator[PlantHandle]:
    with running_plant(model="mobility", seed=3, realtime=True, tick_seconds=0.1) as handle:
        yield handle


def _spec(root: Path, plant: PlantHandle, *, pilot_id: str | None = None,
          approval: bool = False) -> tuple[str, Path]:
    spec_dir = root / (pilot_id or "pilot")
    shutil.copytree(reference_pilots()["mobility"].parent, spec_dir)
    spec_file = spec_dir / "pilot.yaml"
    data = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
    if pilot_id:
        data["id"] = pilot_id
    if approval:
        data["policy"]["tags"][0]["approval"] = "always"
    spec_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    bindings = root / f"{pilot_id or 'pilot'}-bindings.yaml"
    roles = {r: t for r, t in plant.roles().items() if r in data["roles"]}
    bindings.write_text(yaml.safe_dump(roles, allow_unicode=True), encoding="utf-8")
    return str(spec_file), bindings


def _service(spec: str, plant: PlantHandle, bindings: Path, home: Path, *extra: str,
             log_level: str | None = None) -> subprocess.Popen[str]:
    environ = env(home) | ({"FACTORYPILOT_LOG_LEVEL": log_level} if log_level else {})
    return subprocess.Popen([EXE, "pilot", "run", spec, "--endpoint", plant.endpoint, "--bindings", str(bindings),
                             "--no-knowledge", *extra], env=environ, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _query(home: Path, sql: str) -> list[tuple[object, ...]]:
    if not (home / "agent.sqlite").exists():
        return []
    db = sqlite3.connect(home / "agent.sqlite")
    try:
        return db.execute(sql).fetchall()
    except sqlite3.OperationalError:  # tables not created yet
        return []
    finally:
        db.close()


def _wait(what: str, cond: Callable[[], bool], proc: subprocess.Popen[str] | None = None) -> None:
    """Wait for a condition the service makes true (a state, not a duration); fail with the service's output."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if cond():
            return
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the service exited ({proc.returncode}) before {what}: {out}{err}")
        time.sleep(0.1)
    pytest.fail(f"never saw: {what}")


def _feed(plant: PlantHandle) -> list[object]:
    return [v for _, role, v in plant.write_log if role == "feed_override"]


def _drift(plant: PlantHandle) -> None:
    excite(plant)


@pytest.mark.slow
def test_one_owner_per_pilot_and_two_pilots_share_a_home(tmp_path: Path, plant: PlantHandle) -> None:
    home = tmp_path / "home"
    spec, bindings = _spec(tmp_path, plant)
    first = _service(spec, plant, bindings, home, "--max-runs", "1", "--seconds", "120")
    with running_plant(model="mobility", seed=4, realtime=True, tick_seconds=0.1) as plant2:
        try:
            _wait("the first service's lease", lambda: bool(_query(home, "SELECT pid FROM leases")), first)
            second = subprocess.run([EXE, "pilot", "run", spec, "--endpoint", plant.endpoint, "--bindings",
                                     str(bindings), "--no-knowledge", "--seconds", "30"], env=env(home),
                                    capture_output=True, text=True, timeout=120)
            assert second.returncode == 1
            assert f"already running here: PID {first.pid} on " in second.stderr
            assert "Traceback" not in second.stderr
            assert len(second.stderr.strip().splitlines()) == 1, second.stderr
            # another pilot (its own id, its own plant) runs beside it in the same home
            spec2, bindings2 = _spec(tmp_path, plant2, pilot_id="mobility-cnc-2")
            other = _service(spec2, plant2, bindings2, home, "--max-runs", "1", "--seconds", "120")
            _wait("both services' leases", lambda: len(_query(home, "SELECT pid FROM leases")) == 2, other)
            _drift(plant)
            _drift(plant2)
            out1, err1 = first.communicate(timeout=120)
            out2, err2 = other.communicate(timeout=120)
        finally:
            for p in (first,):
                if p.poll() is None:
                    p.kill()
        assert first.returncode == 0, out1 + err1
        assert other.returncode == 0, out2 + err2
        assert _feed(plant) == [85.0]
        assert _feed(plant2) == [85.0]
    runs = dict(_query(home, "SELECT pilot, status FROM runs"))
    assert runs == {"mobility-cnc": "done", "mobility-cnc-2": "done"}
    assert _query(home, "SELECT * FROM leases") == []  # released on the way out
    with Ledger(home / "ledger.sqlite", readonly=True) as led:
        assert led.verify().ok
        assert {r.run_id.rsplit("-", 2)[0] for r in led.records(kind="report") if r.run_id} == {
            "mobility-cnc", "mobility-cnc-2"}


@pytest.mark.slow
def test_approval_during_a_plant_outage_waits_and_resumes(tmp_path: Path, plant: PlantHandle) -> None:
    home = tmp_path / "home"
    spec, bindings = _spec(tmp_path, plant, approval=True)
    _drift(plant)
    service = _service(spec, plant, bindings, home, "--seconds", "150", log_level="INFO")
    try:
        _wait("an approval request", lambda: _query(home, "SELECT status FROM runs") == [("waiting_approval",)],
              service)
        run_id = str(_query(home, "SELECT run_id FROM runs")[0][0])
        plant.stop()
        approve = subprocess.run([EXE, "runs", "approve", run_id, "--by", "alice"], env=env(home),
                                 capture_output=True, text=True, timeout=60)
        assert approve.returncode == 0, approve.stderr
        assert "approved by alice" in approve.stdout
        _wait("the run parked as waiting_for_plant",
              lambda: _query(home, "SELECT status FROM runs") == [("waiting_for_plant",)], service)
        listed = subprocess.run([EXE, "runs", "list"], env=env(home), capture_output=True, text=True, timeout=60)
        assert "waiting_for_plant" in listed.stdout
        assert service.poll() is None  # the service is still there
        assert _feed(plant) == []
        plant.start()
        _wait("the run done after the plant came back", lambda: _query(home, "SELECT status FROM runs") == [
            ("done",)], service)
        service.send_signal(signal.SIGTERM)  # a graceful stop
        out, err = service.communicate(timeout=120)
    finally:
        if service.poll() is None:
            service.send_signal(signal.SIGKILL)
            service.communicate()
    assert service.returncode == 0, out + err
    assert "Traceback" not in err
    # at INFO (rich logs to stdout) an outage is one line; asyncua's reconnect attempts stay at DEBUG
    words = ("lost", "restored", "link back", "reconnect", "asyncua")
    link_lines = [line for line in (out + err).splitlines() if any(w in line for w in words)]
    assert len(link_lines) == 1, out + err
    assert "lost opc.tcp://" in link_lines[0], out + err
    assert "INFO" in link_lines[0], out + err
    assert _feed(plant) == [85.0]
    assert _query(home, "SELECT status FROM runs") == [("done",)]
    with Ledger(home / "ledger.sqlite", readonly=True) as led:
        assert led.verify().ok
        assert [r.kind for r in led.records(kind="waiting-for-plant")] == ["waiting-for-plant"]
        assert [r.payload["by"] for r in led.records(kind="approval")] == ["alice"]
    again = subprocess.run([EXE, "runs", "reject", run_id, "--by", "bob"], env=env(home), capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 1
    assert f"run '{run_id}' was already approved by alice at " in again.stderr


def _demo_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    done = subprocess.run([EXE, "demo"], env=env(home), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    return home


@pytest.mark.slow
def test_tampered_head_and_corrupted_files_are_one_line_each(tmp_path: Path) -> None:
    home = _demo_home(tmp_path)

    def cli(*argv: str, at: Path = home) -> subprocess.CompletedProcess[str]:
        return subprocess.run([EXE, *argv], env=env(at), capture_output=True, text=True, timeout=60)

    assert cli("ledger", "verify").returncode == 0
    # a copy verifies against the head beside it, or one given with --head; it is opened read-only
    copy = tmp_path / "copy.sqlite"
    shutil.copy(home / "ledger.sqlite", copy)
    assert "tail truncation can't be ruled out" in cli("ledger", "verify", "--path", str(copy)).stderr
    assert cli("ledger", "verify", "--path", str(copy), "--head", str(home / "ledger.head")).returncode == 0
    foreign = tmp_path / "foreign.sqlite"
    sqlite3.connect(foreign).close()
    bad = cli("ledger", "verify", "--path", str(foreign))
    assert bad.returncode == 1
    assert "not a factorypilot ledger" in bad.stderr
    db = sqlite3.connect(foreign)
    assert db.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)  # no table was created
    db.close()
    # the tail goes, and the head file is deleted / rewritten to match: the second head still sees it
    with Ledger(home / "ledger.sqlite", readonly=True) as led:
        records = led.records()
    db = sqlite3.connect(home / "ledger.sqlite")
    db.execute("DELETE FROM ledger WHERE seq > ?", (len(records) - 2,))
    db.commit()
    db.close()
    for tamper in ("delete", "rewrite"):
        if tamper == "delete":
            (home / "ledger.head").unlink()
        else:
            (home / "ledger.head").write_text(f"{len(records) - 2} {records[-3].hash}\n")
        out = cli("ledger", "verify")
        assert out.returncode == 1, out.stdout
        assert "truncat" in out.stderr
        assert "Traceback" not in out.stderr
    # corrupted databases: one line naming the file, for every command that opens them
    for name in ("agent.sqlite", "ledger.sqlite", "checkpoints.sqlite"):
        broken = tmp_path / f"broken-{name}"
        shutil.copytree(home, broken)
        for suffix in ("-wal", "-shm"):
            (broken / f"{name}{suffix}").unlink(missing_ok=True)
        (broken / name).write_bytes(b"\x00garbage, not SQLite\x00" * 200)
        commands = [("runs", "list"), ("ledger", "verify")] if name != "checkpoints.sqlite" else [
            ("pilot", "run", "mobility", "--simulate", "--no-knowledge", "--max-runs", "1")]
        for argv in commands:
            out = cli(*argv, at=broken)
            if name == "ledger.sqlite" and argv[0] == "runs":
                assert out.returncode == 0, out.stderr  # runs list does not need the ledger
                continue
            assert out.returncode == 1, (name, argv, out.stdout)
            lines = out.stderr.strip().splitlines()
            assert len(lines) == 1, (name, argv, out.stderr)
            assert f"cannot open {name}: the file is corrupted" in lines[0]
