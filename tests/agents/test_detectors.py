from __future__ import annotations

from factorypilot.agents.detectors import (
    CusumConfig,
    EwmaConfig,
    RateConfig,
    ThresholdConfig,
    run_detectors,
)
from factorypilot.vocabulary import Sample


def window(values: list[float]) -> dict[str, list[Sample]]:
    return {"t": [Sample(tag_id="t", value=v) for v in values]}


def test_threshold_persist_and_clear() -> None:
    cfg = [ThresholdConfig(role="vib", high=4.0, persist=2)]
    roles = {"vib": "t"}
    assert run_detectors(cfg, roles, window([1, 5, 1, 5])) == []  # never two in a row
    ev = run_detectors(cfg, roles, window([1, 5, 6]))
    assert len(ev) == 1
    assert ev[0].role == "vib"
    assert ev[0].value == 6
    assert run_detectors(cfg, roles, window([5, 6, 2])) == []  # excursion over: no event


def test_rate_of_change() -> None:
    cfg = [RateConfig(role="t", max_rise=1.0, over=3)]
    assert run_detectors(cfg, {}, window([1, 1.2, 1.3, 1.5])) == []
    assert len(run_detectors(cfg, {}, window([1, 1.5, 2.0, 2.5]))) == 1


def test_ewma_catches_a_step_after_warmup_not_noise() -> None:
    base = [2.0 + 0.05 * ((i * 7) % 5 - 2) for i in range(40)]
    cfg = [EwmaConfig(role="t", warmup=20, k=4)]
    assert run_detectors(cfg, {}, window(base)) == []
    assert len(run_detectors(cfg, {}, window([*base, 3.5]))) == 1


def test_cusum_detects_small_persistent_shift() -> None:
    cfg = [CusumConfig(role="t", target=2.0, slack=0.1, threshold=1.0)]
    assert run_detectors(cfg, {}, window([2.0, 2.05, 1.95, 2.0])) == []
    assert len(run_detectors(cfg, {}, window([2.0] + [2.4] * 5))) == 1


def test_plugin_detector_loads_by_dotted_path() -> None:
    from factorypilot.agents.detectors import PluginConfig

    cfg = [PluginConfig(role="t", factory="tests_plugins_detector:make", options={"limit": 3})]
    import sys
    import types

    mod = types.ModuleType("tests_plugins_detector")

    class Above:
        def __init__(self, tag_id: str, options: dict[str, float]) -> None:
            self.tag_id, self.limit, self.active = tag_id, options["limit"], False

        def update(self, s: Sample) -> object:
            from factorypilot.vocabulary import Event

            self.active = float(s.value or 0) > self.limit  # type: ignore[arg-type]
            return Event(tag_id=self.tag_id, detector="ml", message="model says anomaly") if self.active else None

    mod.make = Above  # type: ignore[attr-defined]
    sys.modules["tests_plugins_detector"] = mod
    try:
        assert len(run_detectors(cfg, {}, window([1, 4]))) == 1
        assert run_detectors(cfg, {}, window([4, 1])) == []
    finally:
        del sys.modules["tests_plugins_detector"]
