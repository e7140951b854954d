"""Fault injection: what each kind does to a signal, tick by tick, deterministically."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum

from factorypilot.errors import ConfigError

__all__ = ["Fault", "FaultKind", "FaultPlan", "TickFaults"]


class FaultKind(StrEnum):
    """What a fault does. Magnitudes are in the signal's unit."""

    DRIFT = "drift"
    """Ramp: adds ``magnitude × (ticks since start + 1)``."""
    SPIKE = "spike"
    """Adds ``magnitude`` for the duration (default one tick)."""
    STUCK = "stuck"
    """The published value freezes at its value when the fault starts."""
    NOISE = "noise"
    """Adds Gaussian noise with standard deviation ``magnitude`` (own seeded stream)."""
    COMMS_DROP = "comms_drop"
    """The server stops serving for the duration (default 10 ticks), then restarts on the same port."""
    ALARM = "alarm"
    """Raises the model's alarm_active / alarm_code (code = ``int(magnitude)``)."""


_NUMERIC_ONLY = {FaultKind.DRIFT, FaultKind.SPIKE, FaultKind.NOISE}
_DEFAULT_DURATION = {FaultKind.SPIKE: 1, FaultKind.COMMS_DROP: 10}


@dataclass(frozen=True)
class Fault:
    """A fault to inject. ``start_tick`` is an absolute tick index; a start in the past means "now".

    ``duration_ticks=None`` lasts until :meth:`PlantSimulator.clear_faults` (SPIKE defaults to 1 tick,
    COMMS_DROP to 10). ``role`` is required except for COMMS_DROP (whole server) and ALARM (the model's alarm).
    """

    kind: FaultKind
    role: str | None = None
    start_tick: int = 0
    duration_ticks: int | None = None
    magnitude: float = 1.0

    @classmethod
    def parse(cls, text: str) -> Fault:
        """``kind[:role[:magnitude[:start[:duration]]]]``, e.g. ``drift:spindle_vibration:0.2`` (CLI form)."""
        parts = text.split(":")
        try:
            kind = FaultKind(parts[0].strip().lower())
        except ValueError:
            raise ConfigError(f"unknown fault kind {parts[0]!r}", where=f"--fault {text}",
                              hint=f"use one of: {', '.join(k.value for k in FaultKind)}") from None
        try:
            role = parts[1] or None if len(parts) > 1 else None
            magnitude = float(parts[2]) if len(parts) > 2 and parts[2] else 1.0
            start = int(parts[3]) if len(parts) > 3 and parts[3] else 0
            duration = int(parts[4]) if len(parts) > 4 and parts[4] else None
        except ValueError:
            raise ConfigError(f"cannot read fault {text!r}", where="--fault",
                              hint="format kind:role:magnitude:start_tick:duration_ticks, "
                                   "e.g. drift:spindle_vibration:0.2") from None
        return cls(kind, role, start, duration, magnitude)


@dataclass
class _Active:
    fault: Fault
    anchor: int
    end: int | None
    rng: random.Random
    frozen: dict[str, object] = field(default_factory=dict)


@dataclass
class TickFaults:
    """The combined effect of the active faults on one tick."""

    offsets: dict[str, float] = field(default_factory=dict)
    stuck: set[str] = field(default_factory=set)
    alarm_code: int | None = None
    comms_down: bool = False


class FaultPlan:
    """The injected faults of one simulator, evaluated per tick."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._faults: list[_Active] = []

    def add(self, fault: Fault, *, now: int, numeric_roles: set[str], all_roles: set[str],
            has_alarm: bool) -> None:
        where = f"fault {fault.kind.value}:{fault.role}"
        if fault.kind in (FaultKind.COMMS_DROP,):
            pass
        elif fault.kind is FaultKind.ALARM:
            if not has_alarm:
                raise ConfigError("this model declares no alarm roles", where=where,
                                  hint="set `alarm_roles` on the model to support ALARM faults")
        elif fault.role is None or fault.role not in all_roles:
            raise ConfigError(f"unknown role {fault.role!r}", where=where,
                              hint="see sim.roles() or `factorypilot simulator run` for the roles")
        elif fault.kind in _NUMERIC_ONLY and fault.role not in numeric_roles:
            raise ConfigError(f"{fault.kind.value} needs a numeric signal; {fault.role!r} is not", where=where,
                              hint="use stuck for boolean/string signals")
        if fault.duration_ticks is not None and fault.duration_ticks < 1:
            raise ConfigError("duration_ticks must be >= 1 (or None for open-ended)", where=where)
        anchor = max(fault.start_tick, now)
        duration = fault.duration_ticks if fault.duration_ticks is not None else _DEFAULT_DURATION.get(fault.kind)
        end = anchor + duration if duration is not None else None
        rng = random.Random(f"{self._seed}:{fault.kind.value}:{fault.role}:{anchor}:{len(self._faults)}")
        self._faults.append(_Active(fault, anchor, end, rng))

    def clear(self, kind: FaultKind | None = None) -> None:
        self._faults = [a for a in self._faults if kind is not None and a.fault.kind is not kind]

    @property
    def active(self) -> list[Fault]:
        return [a.fault for a in self._faults]

    def comms_window(self, tick: int) -> bool:
        return any(a.fault.kind is FaultKind.COMMS_DROP and a.anchor <= tick and (a.end is None or tick < a.end)
                   for a in self._faults)

    def evaluate(self, tick: int, values: dict[str, object]) -> TickFaults:
        """Effects at ``tick``; expired faults are dropped. ``values`` are the pre-fault model values."""
        out = TickFaults()
        keep: list[_Active] = []
        for a in self._faults:
            if a.end is not None and tick >= a.end:
                continue
            keep.append(a)
            if tick < a.anchor:
                continue
            f, role = a.fault, a.fault.role or ""
            if f.kind is FaultKind.DRIFT:
                out.offsets[role] = out.offsets.get(role, 0.0) + f.magnitude * (tick - a.anchor + 1)
            elif f.kind is FaultKind.SPIKE:
                out.offsets[role] = out.offsets.get(role, 0.0) + f.magnitude
            elif f.kind is FaultKind.NOISE:
                out.offsets[role] = out.offsets.get(role, 0.0) + a.rng.gauss(0.0, f.magnitude)
            elif f.kind is FaultKind.STUCK:
                out.stuck.add(role)
            elif f.kind is FaultKind.ALARM:
                out.alarm_code = int(f.magnitude)
            elif f.kind is FaultKind.COMMS_DROP:
                out.comms_down = True
        self._faults = keep
        return out
