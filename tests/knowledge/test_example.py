"""The quick-start example runs and prints cited answers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "knowledge_quickstart.py"


def test_quickstart_runs(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, str(EXAMPLE), str(tmp_path)], capture_output=True, text=True,
                         check=True, timeout=120)
    assert "again: 0 chunks added" in out.stdout
    assert "manuals/cnc_spindle.md § CNC-01 스핀들 > 진동 경보" in out.stdout
    assert "sop/lockout.md" in out.stdout
    assert "incidents/2024-03-coolant.md" in out.stdout
    assert (tmp_path / "companies" / "acme" / "chroma").is_dir()
