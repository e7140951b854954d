"""``factorypilot alarms ack`` end to end: propose through the pilot's policy, a named person approves, the pilot
acknowledges the simulator's real OPC UA condition exactly once — also when it is killed right after the call."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from factorypilot.agents import Ledger
from factorypilot.pilots.runtime import reference_pilots
from factorypilot.pilots.simulator import Fault, FaultKind, PlantHandle, running_plant

EXE = str(Path(sys.executable).with_name("factorypilot"))


@pytest.fixture
def plant() -> Iterator[PlantHandle]:
    with running_plant(model="mobility", port=0, realtime=False) as handle:
        handle.inject(Fault(FaultKind.ALARM, magnitude=2101))  # severity 700: within the reference policy
        handle.step(1)
        yield handle


def _env(home: Path, crash_at: str | None = None) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("FACTORYPILOT_")}
    out.update({"FACTORYPILOT_HOME": str(home), "FACTORYPILOT_ALLOW_MODEL_REQUESTS": "false", "COLUMNS": "200"})
    if crash_at:
        out["FACTORYPILOT_TEST_CRASH_AT"] = crash_at
    return out


def _cli(home: Path, *args: str, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    exe = [sys.executable, str(Path(__file__).with_name("_crashing_cli.py"))] if crash_at else [EXE]  # + crash probe
    return subprocess.run([*exe, *args], env=_env(home, crash_at), capture_output=True, text=True, timeout=180)


def test_ack_is_proposed_approved_and_applied_once_across_a_crash(plant: PlantHandle, tmp_path: Path) -> None:
    home = tmp_path / "home"
    bindings = tmp_path / "bindings.yaml"
    roles = yaml.safe_load(reference_pilots()["mobility"].read_text("utf-8"))
    bindings.write_text(yaml.safe_dump({r: t for r, t in plant.roles().items() if r in roles["roles"]},
                                       allow_unicode=True), encoding="utf-8")
    cid = plant.node_id("alarm_active") + ".Condition"
    plant_args = ["--endpoint", plant.endpoint, "--bindings", str(bindings)]
    proposed = _cli(home, "alarms", "ack", "mobility", cid, "--by", "김민수", "--comment", "공구 교체 예정",
                    *plant_args)
    assert proposed.returncode == 0, proposed.stdout + proposed.stderr
    assert "주축 진동 과다 (코드 2101)" in proposed.stdout
    run_id = next(w for line in proposed.stdout.splitlines() if "runs approve" in line for w in line.split()
                  if w.startswith("mobility-cnc-ext-"))
    assert plant.alarm_calls == 0
    approved = _cli(home, "runs", "approve", run_id, "--by", "이영희")
    assert approved.returncode == 0, approved.stderr
    # the pilot applies the decision and is killed right after the plant accepted the Acknowledge call
    crashed = _cli(home, "pilot", "resume", "mobility", *plant_args, "--no-knowledge",
                   crash_at="act:after_write:acknowledge")
    assert crashed.returncode == -9, crashed.stdout + crashed.stderr
    assert plant.alarm_calls == 1
    assert plant.alarm_acks()[cid][0] is True
    resumed = _cli(home, "pilot", "resume", "mobility", *plant_args, "--no-knowledge")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert plant.alarm_calls == 1  # read back after the restart, never called again
    acked, _, comments = plant.alarm_acks()[cid]
    assert acked
    assert comments == [("acknowledge", "공구 교체 예정")]
    ledger = Ledger(home / "ledger.sqlite", anchor_db=home / "agent.sqlite")
    try:
        records = ledger.records(run_id=run_id)
        readback = [r.payload for r in records if r.kind == "read-back"]
        assert [(p["status"], p["after_restart"]) for p in readback] == [("done", True)]
        assert readback[0]["reason"].startswith("confirmed after restart")
        assert [r.payload["by"] for r in records if r.kind == "approval"] == ["이영희"]
        assert ledger.verify().ok
    finally:
        ledger.close()


def test_refused_ack_exits_1_and_never_reaches_the_plant(tmp_path: Path) -> None:
    with running_plant(model="robotics", port=0, realtime=False) as plant:
        plant.inject(Fault(FaultKind.ALARM, magnitude=1203))  # severity 900: the robotics policy has no alarm rule
        plant.step(1)
        cid = plant.node_id("fault_active") + ".Condition"
        out = _cli(tmp_path / "home", "alarms", "ack", "robotics", cid, "--by", "kim", "--comment", "checked",
                   "--endpoint", plant.endpoint, "--bindings", str(_robot_bindings(plant, tmp_path)))
        assert out.returncode == 1, out.stdout + out.stderr
        assert "not allow-listed" in out.stdout
        assert "정책의 알람 규칙에 없습니다" in out.stdout  # the same reason in Korean
        assert "Traceback" not in out.stdout + out.stderr
        assert plant.alarm_calls == 0
        assert plant.alarm_acks()[cid][0] is False


def _robot_bindings(plant: PlantHandle, tmp_path: Path) -> Path:
    spec = yaml.safe_load(reference_pilots()["robotics"].read_text("utf-8"))
    roles = {r: t for r, t in plant.roles().items() if r in spec["roles"]}
    methods = plant.method_ids()
    roles.update({"reset_fault": methods["ResetFault"], "move_home": methods["MoveHome"]})
    path = tmp_path / "robot.yaml"
    path.write_text(yaml.safe_dump(roles, allow_unicode=True), encoding="utf-8")
    return path
