"""The quick-start example runs and prints cited answers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def test_quickstart_runs(tmp_path: Path, run_example: Callable[..., str]) -> None:
    out = run_example("knowledge_quickstart.py", tmp_path, timeout=120)
    assert "again: 0 chunks added" in out
    assert "manuals/cnc_spindle.md § CNC-01 스핀들 > 진동 경보" in out
    assert "sop/lockout.md" in out
    assert "incidents/2024-03-coolant.md" in out
    assert (tmp_path / "companies" / "acme" / "chroma").is_dir()
