"""``EventTrigger``: when does the plant deserve a run?

A rolling window of samples per observed tag, the pilot's detectors fed incrementally, and a cool-down per
detector. A detector that fires during its cool-down stays *pending* and triggers once the cool-down is over —
unless its condition cleared in the meantime. A detector whose condition *persists* past the cool-down triggers
again (``refire``), so a pilot keeps acting, step by bounded step, while a fault keeps growing. Time is whatever
unit the caller uses (seconds for the service, ticks for the evaluation harness), so both share this logic.

Cool-downs can outlive the process: ``last`` seeds the last firing per detector key (``keys``), and ``fired``
lists the keys of the detectors that made the last ``due()`` true, so the service stores them (wall-clock
seconds) and a restart does not raise the same event again.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from factorypilot.agents._detect_alarm import AlarmDetector
from factorypilot.agents.config import AgentConfig
from factorypilot.agents.detectors import Detector, build_detector
from factorypilot.vocabulary import AlarmEvent, Sample

__all__ = ["EventTrigger"]


class EventTrigger:
    def __init__(self, config: AgentConfig, tag_ids: Iterable[str], *, window_size: int = 120,
                 cooldown: float = 30.0, refire: bool = True, last: dict[str, float] | None = None) -> None:
        self.windows: dict[str, deque[Sample]] = {t: deque(maxlen=window_size) for t in tag_ids}
        self.detectors: list[Detector] = [build_detector(c, config.roles.get(c.role, c.role))
                                          for c in config.detectors]
        self.cooldown = cooldown
        self.refire = refire
        self.keys = [f"{i}:{type(c).__name__}:{c.role}" for i, c in enumerate(config.detectors)]
        self._last: dict[int, float] = {i: (last or {})[k] for i, k in enumerate(self.keys) if k in (last or {})}
        self._pending: set[int] = set()
        self.fired: list[str] = []
        self.alarms: deque[AlarmEvent] = deque(maxlen=window_size)

    @property
    def wants_alarms(self) -> bool:
        """True when the pilot has ``kind: alarm`` detectors (feed them with ``add_alarm``)."""
        return any(isinstance(d, AlarmDetector) for d in self.detectors)

    def add_alarm(self, alarm: AlarmEvent) -> None:
        """Feed one plant alarm event (kept for the run's ``alarms``; ignored without alarm detectors)."""
        if not self.wants_alarms:
            return
        self.alarms.append(alarm)
        for i, det in enumerate(self.detectors):
            if isinstance(det, AlarmDetector) and det.update_alarm(alarm) is not None:
                self._pending.add(i)

    def alarm_window(self) -> list[AlarmEvent]:
        return list(self.alarms)

    def add(self, sample: Sample) -> None:
        """Feed one sample (ignored when its tag is not observed)."""
        if sample.tag_id not in self.windows:
            return
        self.windows[sample.tag_id].append(sample)
        for i, det in enumerate(self.detectors):
            if det.tag_id == sample.tag_id and det.update(sample) is not None:
                self._pending.add(i)

    def due(self, now: float) -> bool:
        """True when at least one fired detector is out of its cool-down (and still active)."""
        fire = False
        self.fired = []
        if self.refire:  # still beyond its limit after the cool-down: look again
            for i, det in enumerate(self.detectors):
                if i in self._last and i not in self._pending and getattr(det, "active", False) \
                        and not isinstance(det, AlarmDetector):  # a plant alarm fires once per activation
                    self._pending.add(i)
        for i in sorted(self._pending):
            if not getattr(self.detectors[i], "active", True):
                self._pending.discard(i)  # the condition passed during the cool-down
            elif now - self._last.get(i, float("-inf")) >= self.cooldown:
                self._pending.discard(i)
                self._last[i] = now
                self.fired.append(self.keys[i])
                fire = True
        return fire

    def window(self) -> dict[str, list[Sample]]:
        return {k: list(v) for k, v in self.windows.items()}
