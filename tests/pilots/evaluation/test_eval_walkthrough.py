"""The mobility walk-through example runs and shows what it promises."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def test_walkthrough_example_runs(tmp_path: Path, run_example: Callable[..., str]) -> None:
    out = run_example("mobility_walkthrough.py", tmp_path)
    assert "== reference pilot: gate PASSED" in out
    assert "feed_override=85 at tick" in out
    assert "== feed -30 per step: gate FAILED" in out
    assert "exceeds max step 20" in out  # the guard refused it; nothing reached the plant
    assert "== feed -20 per step: gate PASSED" in out
    assert "{'reference': True, 'aggressive': False, 'fixed': True}" in out
    korean = (tmp_path / "3-minus-20" / "report.ko.md").read_text(encoding="utf-8")
    assert "평가 보고서" in korean
    assert (tmp_path / "3-minus-20" / "vibration-drift.png").exists()
