"""kill -9 the pilot service at every node boundary, restart it, and check the write landed exactly once.

The plant is the real simulator (OPC-UA, in a thread of this test process, so it outlives the pilot); the
pilot is a real ``factorypilot pilot run`` subprocess killed with SIGKILL by its own fault-injection hook
(``FACTORYPILOT_TEST_CRASH_AT``) or by this test while it waits for approval. ``factorypilot pilot resume``
then finishes the run from the SQLite checkpoint.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from factorypilot.agents import Ledger
from factorypilot.pilots.runtime import reference_pilots
from factorypilot.pilots.simulator import Fault, FaultKind, PlantHandle, running_plant

EXE = str(Path(sys.executable).with_name("factorypilot"))
PILOT = [sys.executable, str(Path(__file__).with_name("_crashing_cli.py"))]  # the CLI with the crash probe
# the boundaries inside and after ``act`` (write-ahead intent) are the fault matrix's (test_fault_matrix.py)
BOUNDARIES = ["after:observe", "after:detect", "after:retrieve", "after:plan", "after:guard", "before:act",
              "before:report"]


@pytest.fixture
def plant() -> Iterator[PlantHandle]:
    with running_plant(model="mobility", seed=3, realtime=True, tick_seconds=0.1) as handle:
        yield handle


def _env(home: Path, crash_at: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACTORYPILOT_")}
    env.update({"FACTORYPILOT_HOME": str(home), "FACTORYPILOT_ALLOW_MODEL_REQUESTS": "false", "COLUMNS": "160"})
    if crash_at:
        env["FACTORYPILOT_TEST_CRASH_AT"] = crash_at
    return env


def _args(cmd: str, spec: str, plant: PlantHandle, bindings: Path) -> list[str]:
    return [*PILOT, "pilot", cmd, spec, "--endpoint", plant.endpoint, "--bindings", str(bindings), "--no-knowledge"]


def _setup(tmp_path: Path, plant: PlantHandle, approval: bool = False) -> tuple[str, Path, Path]:
    spec_dir = tmp_path / "pilot"
    shutil.copytree(reference_pilots()["mobility"].parent, spec_dir)
    spec_file = spec_dir / "pilot.yaml"
    data = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
    if approval:
        data["policy"]["tags"][0]["approval"] = "always"
        spec_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    bindings = tmp_path / "bindings.yaml"
    roles = {r: t for r, t in plant.roles().items() if r in data["roles"]}  # unknown roles are an error
    bindings.write_text(yaml.safe_dump(roles, allow_unicode=True), encoding="utf-8")
    # a steady excitation (~5 mm/s: above the warning, far below the alarm), not a drift: on a slow machine a
    # drift reaches the alarm before the approval is applied, and the re-check before acting then refuses it
    plant.inject(Fault(FaultKind.SPIKE, "spindle_vibration", start_tick=plant.tick_index + 5, magnitude=3.0,
                       duration_ticks=1_000_000))
    return str(spec_file), bindings, tmp_path / "home"


def _feed_writes(plant: PlantHandle) -> list[object]:
    return [v for _, role, v in plant.write_log if role == "feed_override"]


def _runs(home: Path) -> list[tuple[str, str]]:
    db = sqlite3.connect(home / "agent.sqlite")
    try:
        return db.execute("SELECT run_id, status FROM runs").fetchall()
    except sqlite3.OperationalError:  # the service has not created its tables yet
        return []
    finally:
        db.close()


def _assert_settled(home: Path, plant: PlantHandle) -> None:
    assert _feed_writes(plant) == [85.0], plant.write_log
    runs = _runs(home)
    assert len(runs) == 1
    assert runs[0][1] == "done", runs
    with Ledger(home / "ledger.sqlite") as led:
        report = led.verify()
        assert report.ok, report.problems
        readbacks = [r.payload["target"] for r in led.records(kind="read-back")]
        assert sorted(readbacks) == sorted([plant.node_id("feed_override"), "maintenance"])


@pytest.mark.slow
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_kill9_at_boundary_then_resume_writes_exactly_once(boundary: str, tmp_path: Path,
                                                            plant: PlantHandle) -> None:
    spec, bindings, home = _setup(tmp_path, plant)
    crashed = subprocess.run([*_args("run", spec, plant, bindings), "--max-runs", "1", "--seconds", "60"],
                             env=_env(home, boundary), capture_output=True, text=True, timeout=120)
    assert crashed.returncode == -signal.SIGKILL, crashed.stdout + crashed.stderr
    expected_before = 1 if boundary == "before:report" else 0
    assert len(_feed_writes(plant)) == expected_before
    resumed = subprocess.run(_args("resume", spec, plant, bindings), env=_env(home), capture_output=True,
                             text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    _assert_settled(home, plant)
    if boundary != "before:report":
        return
    # resuming a settled pilot again changes nothing (checked once; each subprocess costs seconds)
    again = subprocess.run(_args("resume", spec, plant, bindings), env=_env(home), capture_output=True,
                           text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "resumed 0 run(s)" in again.stdout
    assert _feed_writes(plant) == [85.0]


@pytest.mark.slow
def test_kill9_while_waiting_for_approval_then_approve_from_cli(tmp_path: Path, plant: PlantHandle) -> None:
    spec, bindings, home = _setup(tmp_path, plant, approval=True)
    service = subprocess.Popen([*_args("run", spec, plant, bindings), "--seconds", "90"], env=_env(home),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if (home / "agent.sqlite").exists() and any(s == "waiting_approval" for _, s in _runs(home)):
                break
            time.sleep(0.2)
        else:
            pytest.fail("the pilot never asked for approval")
    finally:
        service.send_signal(signal.SIGKILL)
        service.communicate(timeout=30)
    assert _feed_writes(plant) == []
    run_id = _runs(home)[0][0]
    approve = subprocess.run([EXE, "runs", "approve", run_id, "--by", "김민수", "--comment", "확인함"],
                             env=_env(home), capture_output=True, text=True, timeout=60)
    assert approve.returncode == 0, approve.stderr
    assert _feed_writes(plant) == []  # recorded, not yet applied: the service applies it
    resumed = subprocess.run(_args("resume", spec, plant, bindings), env=_env(home), capture_output=True,
                             text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    _assert_settled(home, plant)
    with Ledger(home / "ledger.sqlite") as led:
        approval = led.records(kind="approval")
        assert [r.payload["by"] for r in approval] == ["김민수"]
    twice = subprocess.run([EXE, "runs", "approve", run_id, "--by", "someone"], env=_env(home),
                           capture_output=True, text=True, timeout=60)
    assert twice.returncode == 1
    assert "already approved" in twice.stderr
