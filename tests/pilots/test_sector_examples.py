"""The sector walk-throughs (examples/<sector>_walkthrough.py) run and show what they promise."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def test_healthcare_walkthrough(tmp_path: Path, run_example: Callable[..., str]) -> None:
    out = run_example("healthcare_walkthrough.py", tmp_path)
    assert "reference gate passed: True" in out
    assert "writes [('hvac_fan_setpoint', 75.0)], approvals 1" in out
    assert "approval-requested -> approval -> intent -> intent -> action" in out  # write-ahead intent
    assert "chain ok: True" in out
    assert "# GMP 일탈 보고서" in out
    assert "- 결정: **approve** (승인자 eval-harness" in out
    assert "batch-record deviation: batch B260105-01: seal temperature" in out
    assert (tmp_path / "deviation.ko.md").read_text(encoding="utf-8").startswith("# GMP 일탈 보고서")
    assert "changed playbook (fan +25): gate passed: False; writes []" in out
    assert "exceeds max step 20" in out
    assert (tmp_path / "reference" / "report.en.md").exists()


def test_robotics_walkthrough(tmp_path: Path, run_example: Callable[..., str]) -> None:
    out = run_example("robotics_walkthrough.py", tmp_path)
    assert "reference gate passed: True" in out
    assert "read-back ResetFault: done" in out
    assert "read-back MoveHome: done" in out
    assert "writes [('speed_override', 80.0)] (automatic, approvals 0)" in out
    base, agent = out.split("without MoveHome: downtime baseline ")[1].split(" (")[0].split(" s -> agent ")
    assert float(agent.rstrip(" s")) == float(base)  # no home reference, no restart


def test_abb_walkthrough(tmp_path: Path, run_example: Callable[..., str]) -> None:
    out = run_example("abb_walkthrough.py", tmp_path)
    assert "reference gate passed: True; writes [('weld_current_setpoint', 190.0)]" in out
    assert "root cause: st30-weld" in out
    assert "LOT-260105-003 verifies: True" in out
    assert "after tampering LOT-260105-003 verifies: False" in out
    assert "timid playbook (+4 A): gate passed False" in out
