"""The LLM planner example runs without a model server and shows what it promises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "llm_planner_fake.py"


def test_llm_planner_example_runs(tmp_path: Path) -> None:
    env = os.environ | {"FACTORYPILOT_ALLOW_MODEL_REQUESTS": "false"}
    result = subprocess.run([sys.executable, str(EXAMPLE), str(tmp_path / "home")], capture_output=True, text=True,
                            timeout=120, check=False, encoding="utf-8", env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "status: done  planner: llm" in out
    assert "refused cnc1.feed=200: value 200 above allowed maximum 110.0" in out
    assert "result cnc1.feed=85: done (read back 85.0)" in out
    assert "plant writes: [('cnc1.feed', 85.0)]" in out
    assert "ledger verifies: True" in out
    assert out.count("decision by scripted-qwen") == 2
    assert "주축 진동 상승" in out
