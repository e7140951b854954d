from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.mark.slow
def test_quickstart_example_runs(tmp_path: Path, fp_home: Path, run_example: Callable[..., str]) -> None:
    out = run_example("mes_quickstart.py", tmp_path / "work", timeout=120)  # FACTORYPILOT_HOME is fp_home
    assert "encoding cp949" in out
    assert "accepted 4 / quarantined 1 / duplicates 4" in out
    assert "2026-11-25 B: 9/113 = 8.0%" in out
    assert "CNC-01: 2 stops, 60 min" in out
    assert (fp_home / "mes" / "quickstart.sqlite").is_file()
