"""The small-firm quick start (examples/small_firm_quickstart.py) runs its 3 CLI commands as a person would:
init → map (interactive; no role of this plant needs a question) → run read-only, on the mobility-kr plant."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def test_small_firm_quickstart_runs(tmp_path: Path, run_example: Callable[..., str]) -> None:
    env = {k: v for k, v in os.environ.items() if k != "FACTORYPILOT_HOME"}
    out = run_example("small_firm_quickstart.py", tmp_path, env=env, timeout=240)
    assert out.count("number, tag name/id, 'absent' or 'skip'") == 0  # every role proposed high (and right)
    assert "read-only check passed; writes disabled" in out
    assert "'machine_state': 'op_sts'" in out
    assert "'spindle_vibration': 'spdl_vib'" in out
    assert "writes enabled: False" in out
    assert "refused" in out
    assert "writes the plant accepted: []" in out
    assert "small firm: 3 commands" in out
