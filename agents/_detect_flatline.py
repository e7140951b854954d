"""Stuck-sensor (flat-line) detection: a signal that stops moving while its quality still says Good.

A frozen transmitter, a hung PLC block or a disconnected input card often keeps publishing its last value
with Good status. Nothing else notices: the value is inside every limit. This detector keeps the last
``window`` Good numeric samples and fires when their standard deviation is at most ``max_std`` (default
0: the value is exactly frozen; a tiny relative tolerance absorbs float rounding). A sample that is not
Good restarts the window (bad quality is a different fault, reported by the connector). The event is a
*data-quality* event (``kind="data-quality"``): the operator must hear about it, and a playbook keyed on
``detector: flatline`` should not act on the plant.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from factorypilot.vocabulary import Event, Quality, Sample, Severity, utcnow

__all__ = ["FlatlineConfig", "FlatlineDetector"]

_REL_TOL = 1e-12


class FlatlineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["flatline"] = "flatline"
    role: str = Field(description="tag role (or tag id) the detector watches")
    severity: Severity = Severity.WARNING
    name: str | None = None
    window: int = Field(default=30, ge=3, description="consecutive Good samples that must all be (near) equal")
    max_std: float = Field(default=0.0, ge=0, description="largest standard deviation still called frozen")


class FlatlineDetector:
    def __init__(self, cfg: FlatlineConfig, tag_id: str) -> None:
        self.cfg = cfg
        self.tag_id = tag_id
        self.name = cfg.name or f"flatline:{cfg.role}"
        self._values: deque[float] = deque(maxlen=cfg.window)
        self._firing = False

    @property
    def active(self) -> bool:
        return self._firing

    def _frozen(self) -> tuple[bool, float]:
        n = len(self._values)
        mean = sum(self._values) / n
        std = math.sqrt(sum((x - mean) ** 2 for x in self._values) / n)
        return std <= self.cfg.max_std + _REL_TOL * max(1.0, abs(mean)), std

    def update(self, sample: Sample) -> Event | None:
        v = sample.value
        if sample.quality is not Quality.GOOD or isinstance(v, bool) or not isinstance(v, int | float) \
                or not math.isfinite(v):
            self._values.clear()
            self._firing = False
            return None
        self._values.append(float(v))
        if len(self._values) < self.cfg.window:
            return None
        frozen, std = self._frozen()
        fire, self._firing = frozen and not self._firing, frozen
        if not fire:
            return None
        return Event(kind="data-quality", tag_id=self.tag_id, role=self.cfg.role, severity=self.cfg.severity,
                     detector=self.name, value=v, time=sample.time or utcnow(), samples=(sample,),
                     message=f"{self.cfg.role} stuck at {v:g} for {self.cfg.window} samples (std {std:.3g}) "
                             f"while quality is Good: check the sensor / {self.cfg.role} 값이 {v:g}에서 "
                             f"{self.cfg.window}개 샘플 동안 변하지 않음 (품질 Good): 센서 점검 필요")
