"""Pluggable detectors: turn a window of samples into :class:`~factorypilot.vocabulary.Event` s.

A detector is a small stateful object: ``update(sample) -> Event | None``. The graph's ``detect`` node
replays the observation window through *fresh* detectors built from config, so the result is a pure
function of the window — the same after a crash and resume. Built-ins: threshold, rate of change, EWMA
and CUSUM, flat-line (stuck sensor, see ``_detect_flatline``); ``kind: plugin`` loads any callable
``module:function`` (e.g. an ML model) that returns a detector. Config is YAML/pydantic with unknown keys refused.
"""

from __future__ import annotations

import importlib
import math
from collections import deque
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from factorypilot.agents._detect_alarm import AlarmDetector, AlarmDetectorConfig, run_alarm_detectors
from factorypilot.agents._detect_flatline import FlatlineConfig, FlatlineDetector
from factorypilot.errors import ConfigError
from factorypilot.vocabulary import Event, Sample, Severity, utcnow

__all__ = ["AlarmDetectorConfig", "Detector", "DetectorConfig", "FlatlineConfig", "build_detector",
           "run_alarm_detectors", "run_detectors"]


class Detector(Protocol):
    tag_id: str

    def update(self, sample: Sample) -> Event | None: ...


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: str = Field(description="tag role (or tag id) the detector watches")
    severity: Severity = Severity.WARNING
    name: str | None = None


class ThresholdConfig(_Base):
    kind: Literal["threshold"] = "threshold"
    high: float | None = None
    low: float | None = None
    persist: int = Field(default=1, ge=1, description="consecutive samples beyond the limit before firing")


class RateConfig(_Base):
    kind: Literal["rate"] = "rate"
    max_rise: float | None = Field(default=None, description="largest rise over `over` samples")
    max_fall: float | None = None
    over: int = Field(default=5, ge=1)


class EwmaConfig(_Base):
    kind: Literal["ewma"] = "ewma"
    alpha: float = Field(default=0.2, gt=0, le=1)
    k: float = Field(default=4.0, gt=0, description="alarm when |x - mean| > k * std")
    warmup: int = Field(default=20, ge=2)


class CusumConfig(_Base):
    kind: Literal["cusum"] = "cusum"
    target: float
    slack: float = Field(default=0.5, ge=0)
    threshold: float = Field(default=5.0, gt=0)


class PluginConfig(_Base):
    kind: Literal["plugin"] = "plugin"
    factory: str = Field(description="'module:function' returning a Detector for (tag_id, options)")
    options: dict[str, float | int | str | bool] = Field(default_factory=dict)


DetectorConfig = Annotated[ThresholdConfig | RateConfig | EwmaConfig | CusumConfig | FlatlineConfig | PluginConfig
                           | AlarmDetectorConfig, Field(discriminator="kind")]


def _num(sample: Sample) -> float | None:
    v = sample.value
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


class _Detector:
    def __init__(self, cfg: _Base, tag_id: str) -> None:
        self.cfg = cfg
        self.tag_id = tag_id
        self.name = cfg.name or f"{getattr(cfg, 'kind', 'detector')}:{cfg.role}"
        self._firing = False

    @property
    def active(self) -> bool:
        """True while the condition still holds (an event fires once, on the way in)."""
        return self._firing

    def _event(self, sample: Sample, message: str) -> Event:
        return Event(kind="anomaly", tag_id=self.tag_id, role=self.cfg.role, severity=self.cfg.severity,
                     detector=self.name, message=message, value=sample.value,
                     time=sample.time or utcnow(), samples=(sample,))


class ThresholdDetector(_Detector):
    cfg: ThresholdConfig

    def __init__(self, cfg: ThresholdConfig, tag_id: str) -> None:
        super().__init__(cfg, tag_id)
        self._run = 0

    def update(self, sample: Sample) -> Event | None:
        x = _num(sample)
        if x is None:
            return None
        beyond = (self.cfg.high is not None and x > self.cfg.high) or (self.cfg.low is not None and x < self.cfg.low)
        self._run = self._run + 1 if beyond else 0
        self._firing = self._run >= self.cfg.persist
        if self._run == self.cfg.persist:
            limit = self.cfg.high if self.cfg.high is not None and x > self.cfg.high else self.cfg.low
            return self._event(sample, f"{self.cfg.role} = {x:g} beyond limit {limit:g}")
        return None


class RateDetector(_Detector):
    cfg: RateConfig

    def __init__(self, cfg: RateConfig, tag_id: str) -> None:
        super().__init__(cfg, tag_id)
        self._window: deque[float] = deque(maxlen=cfg.over + 1)

    def update(self, sample: Sample) -> Event | None:
        x = _num(sample)
        if x is None:
            return None
        self._window.append(x)
        if len(self._window) <= self.cfg.over:
            return None
        delta = self._window[-1] - self._window[0]
        hit = (self.cfg.max_rise is not None and delta > self.cfg.max_rise) or (
            self.cfg.max_fall is not None and -delta > self.cfg.max_fall)
        fire, self._firing = hit and not self._firing, hit
        return self._event(sample, f"{self.cfg.role} changed {delta:+g} over {self.cfg.over} samples") if fire else None


class EwmaDetector(_Detector):
    cfg: EwmaConfig

    def __init__(self, cfg: EwmaConfig, tag_id: str) -> None:
        super().__init__(cfg, tag_id)
        self._n, self._mean, self._var, self._firing = 0, 0.0, 0.0, False

    def update(self, sample: Sample) -> Event | None:
        x = _num(sample)
        if x is None:
            return None
        self._n += 1
        if self._n == 1:
            self._mean = x
            return None
        std = math.sqrt(self._var)
        hit = self._n > self.cfg.warmup and std > 0 and abs(x - self._mean) > self.cfg.k * std
        if not hit:  # learn only from normal data so a slow drift cannot teach itself normal
            a = self.cfg.alpha
            diff = x - self._mean
            self._mean += a * diff
            self._var = (1 - a) * (self._var + a * diff * diff)
        fire, self._firing = hit and not self._firing, hit
        return self._event(sample, f"{self.cfg.role} = {x:g} deviates from EWMA {self._mean:g} (±{std:g})") \
            if fire else None


class CusumDetector(_Detector):
    cfg: CusumConfig

    def __init__(self, cfg: CusumConfig, tag_id: str) -> None:
        super().__init__(cfg, tag_id)
        self._hi = self._lo = 0.0

    def update(self, sample: Sample) -> Event | None:
        x = _num(sample)
        if x is None:
            return None
        self._hi = max(0.0, self._hi + x - self.cfg.target - self.cfg.slack)
        self._lo = max(0.0, self._lo + self.cfg.target - x - self.cfg.slack)
        hit = max(self._hi, self._lo) > self.cfg.threshold
        fire, self._firing = hit and not self._firing, hit
        side = "upward" if self._hi >= self._lo else "downward"
        return self._event(sample, f"{self.cfg.role}: CUSUM {side} shift from {self.cfg.target:g}") if fire else None


def build_detector(cfg: ThresholdConfig | RateConfig | EwmaConfig | CusumConfig | FlatlineConfig | PluginConfig
                   | AlarmDetectorConfig, tag_id: str) -> Detector:
    if isinstance(cfg, ThresholdConfig):
        return ThresholdDetector(cfg, tag_id)
    if isinstance(cfg, RateConfig):
        return RateDetector(cfg, tag_id)
    if isinstance(cfg, EwmaConfig):
        return EwmaDetector(cfg, tag_id)
    if isinstance(cfg, CusumConfig):
        return CusumDetector(cfg, tag_id)
    if isinstance(cfg, FlatlineConfig):
        return FlatlineDetector(cfg, tag_id)
    if isinstance(cfg, AlarmDetectorConfig):
        return AlarmDetector(cfg, tag_id)
    module, _, func = cfg.factory.partition(":")
    try:
        factory = getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"detector plugin {cfg.factory!r} cannot be loaded: {exc}",
                          hint="give 'package.module:function' of an installed package") from exc
    det: Detector = factory(tag_id, dict(cfg.options))
    return det


def run_detectors(configs: list[DetectorConfig], roles: dict[str, str],
                  window: dict[str, list[Sample]]) -> list[Event]:
    """Replay ``window`` (tag id → samples, oldest first) through fresh detectors; return fired events.

    An event is returned only if its detector is still active at the end of the window (a spike that
    already passed is history, not a reason to act); the most recent firing is kept.
    """
    events: list[Event] = []
    for cfg in configs:
        if isinstance(cfg, AlarmDetectorConfig):
            continue  # fed alarm events, not samples (run_alarm_detectors)
        tag_id = roles.get(cfg.role, cfg.role)
        det = build_detector(cfg, tag_id)
        last: Event | None = None
        for s in window.get(tag_id, []):
            ev = det.update(s)
            if ev is not None:
                last = ev
        if last is not None and getattr(det, "active", True):
            events.append(last)
    return events
