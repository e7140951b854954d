"""Golden figures: every scenario of every reference pilot, and every simulator model's raw tick stream, are
byte-identical to the committed fixture ``golden/figures.json``.

The fixture was written by this module's ``__main__`` on the code *before* the layout move (issue 19), so a moved
module, a renamed class or a re-ordered random draw that changes any figure fails here. Regenerate only on purpose
(a deliberate physics or scoring change) and say so in the commit:

    python tests/pilots/test_golden_figures.py --write
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from factorypilot.pilots.evaluation._run import run_baseline
from factorypilot.pilots.evaluation.harness import evaluate, load_scenarios
from factorypilot.pilots.runtime import resolve_spec
from factorypilot.pilots.simulator import Fault, FaultKind, PlantSimulator, available_models
from factorypilot.vocabulary import DataType

FIXTURE = Path(__file__).parent / "golden" / "figures.json"
PILOTS = ["abb", "healthcare", "mobility", "robotics"]
MODEL_TICKS = 120
MODEL_SEEDS = (0, 7)


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def pilot_figures(pilot: str, home: Path) -> dict[str, Any]:
    """Scores and aggregate of ``eval PILOT`` (playbook planner, no knowledge, English), plus a digest of each
    scenario's no-agent tick stream (the random draw order of the plant model)."""
    report = evaluate(pilot, home=home, knowledge=False, plots=False, lang="en")
    spec, path = resolve_spec(pilot)
    streams = {sc.id: _digest(dataclasses.asdict(asyncio.run(run_baseline(spec, sc)))["values"])
               for sc in load_scenarios(spec, path)}
    return {"aggregate": dataclasses.asdict(report.aggregate), "gate_failures": report.gate_failures,
            "scores": [dataclasses.asdict(s) for s in report.scores], "baseline_streams": streams}


def model_stream(name: str, seed: int) -> str:
    """A digest of ``MODEL_TICKS`` ticks of the model's published values, with a drift on its first read-only float
    signal from tick 30 and noise on its second from tick 60 (no server: the engine alone)."""
    sim = PlantSimulator(name, seed=seed, realtime=False)
    floats = [r for r, s in sim.engine.signals.items() if s.data_type == DataType.FLOAT and not s.writable]
    if floats:
        sim.inject(Fault(FaultKind.DRIFT, floats[0], start_tick=30, magnitude=0.05))
    if len(floats) > 1:
        sim.inject(Fault(FaultKind.NOISE, floats[1], start_tick=60, magnitude=0.5))
    values = []
    for _ in range(MODEL_TICKS):
        sim.engine.tick()
        values.append(dict(sim.engine.published))
    return _digest(values)


def model_figures() -> dict[str, str]:
    return {f"{name}@{seed}": model_stream(name, seed) for name in available_models() for seed in MODEL_SEEDS}


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, indent=1, default=str) + "\n"


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return loaded


@pytest.mark.parametrize("pilot", PILOTS)
def test_every_scenario_figure_is_byte_identical(golden: dict[str, Any], pilot: str, tmp_path: Path) -> None:
    now = pilot_figures(pilot, tmp_path)
    assert [s["id"] for s in now["scores"]] == [s["id"] for s in golden["pilots"][pilot]["scores"]]
    assert _canonical(now) == _canonical(golden["pilots"][pilot])


def test_every_model_tick_stream_is_byte_identical(golden: dict[str, Any]) -> None:
    now = model_figures()
    assert sorted(now) == sorted(golden["models"])
    assert now == golden["models"]


if __name__ == "__main__":  # pragma: no cover - writes the fixture on purpose
    if "--write" not in sys.argv:
        sys.exit("usage: python tests/pilots/test_golden_figures.py --write")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        figures = {"pilots": {p: pilot_figures(p, Path(tmp) / p) for p in PILOTS}, "models": model_figures()}
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(_canonical(figures), encoding="utf-8")
    print(f"wrote {FIXTURE}")
