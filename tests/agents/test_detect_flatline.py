"""The stuck-sensor (flat-line) detector: fires on a frozen value, never on a quiet but live one."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from factorypilot.agents.detectors import DetectorConfig, FlatlineConfig, build_detector, run_detectors
from factorypilot.vocabulary import Quality, Sample


def window(values: list[float], quality: Quality = Quality.GOOD) -> dict[str, list[Sample]]:
    return {"t": [Sample(tag_id="t", value=v, quality=quality) for v in values]}


def live(n: int, level: float, sigma: float, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [level + rng.gauss(0.0, sigma) for _ in range(n)]


def test_frozen_value_fires_once_as_a_data_quality_event() -> None:
    cfg = [FlatlineConfig(role="vib", window=20)]
    values = live(30, 2.0, 0.1, 1) + [2.137] * 25
    events = run_detectors(cfg, {"vib": "t"}, window(values))
    assert len(events) == 1
    ev = events[0]
    assert ev.kind == "data-quality"
    assert ev.detector == "flatline:vib"
    assert ev.value == 2.137
    assert "stuck" in ev.message
    assert "센서" in ev.message


def test_needs_a_full_window_of_good_samples() -> None:
    det = build_detector(FlatlineConfig(role="t", window=10), "t")
    fired = [det.update(Sample(tag_id="t", value=1.0)) for _ in range(9)]
    assert fired == [None] * 9
    # a bad sample restarts the window: frozen-but-bad is the connector's report, not ours
    assert det.update(Sample(tag_id="t", value=1.0, quality=Quality.BAD)) is None
    fired = [det.update(Sample(tag_id="t", value=1.0)) for _ in range(10)]
    assert fired[:9] == [None] * 9
    assert fired[9] is not None
    assert det.active is True
    assert det.update(Sample(tag_id="t", value=1.5)) is None  # moving again: clears
    assert det.active is False


def test_uncertain_quality_frozen_is_not_reported_here() -> None:
    assert run_detectors([FlatlineConfig(role="t", window=5)], {}, window([3.0] * 20, Quality.UNCERTAIN)) == []


def test_recovered_sensor_is_history_not_an_event() -> None:
    cfg = [FlatlineConfig(role="t", window=10)]
    assert run_detectors(cfg, {}, window([4.0] * 15 + live(5, 4.0, 0.2, 3))) == []


def test_max_std_tolerates_quantised_jitter() -> None:
    jitter = [5.0, 5.01] * 15
    assert run_detectors([FlatlineConfig(role="t", window=20)], {}, window(jitter)) == []
    assert len(run_detectors([FlatlineConfig(role="t", window=20, max_std=0.01)], {}, window(jitter))) == 1


def test_config_is_a_detector_kind_and_refuses_unknown_keys() -> None:
    adapter: TypeAdapter[object] = TypeAdapter(DetectorConfig)
    cfg = adapter.validate_python({"kind": "flatline", "role": "vib", "window": 40})
    assert isinstance(cfg, FlatlineConfig)
    assert cfg.window == 40
    with pytest.raises(ValidationError):
        adapter.validate_python({"kind": "flatline", "role": "vib", "windw": 40})
    with pytest.raises(ValidationError):
        adapter.validate_python({"kind": "flatline", "role": "vib", "window": 2})


@settings(max_examples=150, deadline=None)
@given(level=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
       rel_sigma=st.floats(min_value=1e-9, max_value=10.0),
       seed=st.integers(min_value=0, max_value=2**31),
       window_size=st.integers(min_value=3, max_value=200))
def test_quiet_but_live_never_fires(level: float, rel_sigma: float, seed: int, window_size: int) -> None:
    sigma = rel_sigma * max(1.0, abs(level))
    values = live(window_size * 3, level, sigma, seed)
    assert run_detectors([FlatlineConfig(role="t", window=window_size)], {}, window(values)) == []


@settings(max_examples=150, deadline=None)
@given(level=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
       rel_sigma=st.floats(min_value=1e-6, max_value=10.0),
       seed=st.integers(min_value=0, max_value=2**31),
       window_size=st.integers(min_value=3, max_value=200))
def test_frozen_after_live_always_fires(level: float, rel_sigma: float, seed: int, window_size: int) -> None:
    sigma = rel_sigma * max(1.0, abs(level))
    before = live(window_size * 2, level, sigma, seed)
    frozen = [before[-1]] * window_size
    events = run_detectors([FlatlineConfig(role="t", window=window_size)], {}, window(before + frozen))
    assert len(events) == 1
    assert events[0].value == before[-1]
