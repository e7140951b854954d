"""The quick-start example runs and shows what it promises."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def test_quickstart_example_runs(tmp_path: Path, run_example: Callable[..., str]) -> None:
    out = run_example("simulator_quickstart.py", tmp_path, timeout=120)
    assert "주축 진동" in out
    assert "refused by the server" in out
    assert "accepted writes: [(60, 'feed_override', 60.0)]" in out
    assert len(list(tmp_path.glob("*.csv"))) == 1
    line = next(x for x in out.splitlines() if x.startswith("MES export"))
    good, scrap = line.split("good ")[1].split(" (OPC UA ")[0], line.split("scrap ")[1].split(" (OPC UA ")[0]
    assert f"good {good} (OPC UA {good})" in line
    assert f"scrap {scrap} (OPC UA {scrap})" in line
    mitigation = next(x for x in out.splitlines() if x.startswith("feed_override=60 %"))
    before, after = (float(v.split()[0]) for v in mitigation.split("vibration ")[1].split(" -> "))
    assert after < before
