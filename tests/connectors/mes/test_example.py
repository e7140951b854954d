from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "mes_quickstart.py"


@pytest.mark.slow
def test_quickstart_example_runs(tmp_path: Path, fp_home: Path) -> None:
    env = {**os.environ, "FACTORYPILOT_HOME": str(fp_home)}
    out = subprocess.run([sys.executable, str(EXAMPLE), str(tmp_path / "work")], capture_output=True, text=True,
                         env=env, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "encoding cp949" in out.stdout
    assert "accepted 4 / quarantined 1 / duplicates 4" in out.stdout
    assert "2026-11-25 B: 9/113 = 8.0%" in out.stdout
    assert "CNC-01: 2 stops, 60 min" in out.stdout
    assert (fp_home / "mes" / "quickstart.sqlite").is_file()
