"""The LLM planner example runs without a model server and shows what it promises."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def test_llm_planner_example_runs(tmp_path: Path, run_example: Callable[..., str]) -> None:
    env = os.environ | {"FACTORYPILOT_ALLOW_MODEL_REQUESTS": "false"}
    out = run_example("llm_planner_fake.py", tmp_path / "home", env=env, timeout=120)
    assert ("waiting for a person: cnc1.feed=85 because '절삭 부하 감소' (proposed by llm:scripted-qwen; "
            "rule llm: always (default for LLM-proposed actions))") in out
    assert "status: done  planner: llm" in out
    assert "refused cnc1.feed=200: value 200 above allowed maximum 110.0" in out
    assert "result cnc1.feed=85: done (read back 85.0)" in out
    assert "plant writes: [('cnc1.feed', 85.0)]" in out
    assert "ledger verifies: True" in out
    assert out.count("decision by scripted-qwen") == 2
    assert "주축 진동 상승" in out
