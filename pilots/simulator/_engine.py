"""The plant's clock: steps every line model, applies faults, and keeps the published values.

No OPC UA here — the server (``_server.py``) publishes what the engine computes. Everything is a function of
the seed, the tick index, the injected faults and the accepted client writes (never the wall clock).
"""

from __future__ import annotations

import random

from factorypilot.errors import ConfigError
from factorypilot.vocabulary import DataType, Scalar

from ._faults import Fault, FaultKind, FaultPlan, TickFaults
from ._model import MethodSpec, PlantModel, Signal

__all__ = ["PlantEngine", "role_name"]


def role_name(unit: int, role: str) -> str:
    """Role as published: line 1 keeps the model's role, line k>1 is ``lineKK_<role>`` (k two digits)."""
    return role if unit == 0 else f"line{unit + 1:02d}_{role}"


def _coerce(sig: Signal, value: Scalar) -> Scalar:
    if sig.data_type is DataType.FLOAT:
        return float(value or 0.0)
    if sig.data_type is DataType.INTEGER:
        return round(float(value or 0))
    return value


class PlantEngine:
    """``scale`` replicated lines of one model class, stepped together."""

    def __init__(self, cls: type[PlantModel], *, seed: int, scale: int = 1,
                 first: PlantModel | None = None, first_line: int = 0) -> None:
        if scale < 1:
            raise ConfigError(f"scale must be >= 1, got {scale}", where="scale", hint="scale=N replicates N lines")
        if first_line < 0:
            raise ConfigError(f"first_line must be >= 0, got {first_line}", where="first_line")
        self.cls = cls
        self.seed = seed
        self.first_line = first_line
        """Global index of this engine's first line (shards: each process runs lines first_line.. )."""
        self.models: list[PlantModel] = [first if (first is not None and u == 0) else cls() for u in range(scale)]
        self.signals: dict[str, Signal] = {}
        self.unit_of: dict[str, int] = {}
        self.local_of: dict[str, str] = {}
        for unit, model in enumerate(self.models):
            model.bind(random.Random(f"{seed}:{cls.name}:{first_line + unit}"))
            for sig in cls.signals:
                full = self.role(unit, sig.role)
                self.signals[full] = sig
                self.unit_of[full] = unit
                self.local_of[full] = sig.role
        self.published: dict[str, Scalar] = {r: self.models[self.unit_of[r]].values[self.local_of[r]]
                                             for r in self.signals}
        self.tick_index = 0
        self.plan = FaultPlan(seed)
        self.write_log: list[tuple[int, str, Scalar]] = []
        self.method_log: list[tuple[int, str, tuple[Scalar, ...]]] = []
        self.counter_log: list[tuple[int, int, int, int]] = []
        """(tick, line index, good total, scrap total) whenever a line's published counters change;
        the entries at tick -1 are the initial totals. The MES export generator reads it."""
        self._last_counts: dict[int, tuple[int, int]] = {}
        self._log_counters(-1, force=True)
        self._numeric = {r for r, s in self.signals.items() if s.data_type in (DataType.FLOAT, DataType.INTEGER)}

    def role(self, unit: int, local: str) -> str:
        """Published role of ``local`` on this engine's line ``unit`` (0-based, local to this engine)."""
        return role_name(self.first_line + unit, local)

    def line_key(self, unit: int) -> str:
        return f"{self.cls.hierarchy.line.key}-{self.first_line + unit + 1:02d}"

    # -- faults ------------------------------------------------------------------------------------
    def inject(self, fault: Fault) -> None:
        self.plan.add(fault, now=self.tick_index, numeric_roles=self._numeric, all_roles=set(self.signals),
                      has_alarm=self.cls.alarm_roles is not None)

    def clear_faults(self) -> None:
        self.plan.clear()

    # -- ticking -----------------------------------------------------------------------------------
    def tick(self) -> tuple[dict[str, Scalar], TickFaults]:
        """Advance one tick; returns the published values that changed and the faults' effects."""
        t = self.tick_index
        raw = {r: self.models[self.unit_of[r]].values[self.local_of[r]] for r in self.signals}
        effects = self.plan.evaluate(t, dict(raw))
        absorbs = self.cls.absorbs
        for unit, model in enumerate(self.models):
            model.external_alarm = effects.alarm_code
            disturbance = {local: effects.offsets[self.role(unit, local)] for local in absorbs
                           if self.role(unit, local) in effects.offsets}
            model.step(t, disturbance)
            if model.alarm_reset_requested:
                model.alarm_reset_requested = False
                self.plan.clear(FaultKind.ALARM)
        changed: dict[str, Scalar] = {}
        for role, sig in self.signals.items():
            local = self.local_of[role]
            if role in effects.stuck:
                continue
            value = self.models[self.unit_of[role]].values[local]
            offset = effects.offsets.get(role)
            if offset is not None and local not in absorbs:
                value = _coerce(sig, float(value or 0.0) + offset)
            if value != self.published[role]:
                self.published[role] = value
                changed[role] = value
        self._log_counters(t)
        self.tick_index += 1
        return changed, effects

    def _log_counters(self, tick: int, *, force: bool = False) -> None:
        pair = self.cls.counter_roles
        if pair is None:
            return
        for unit in range(len(self.models)):
            good = int(self.published[self.role(unit, pair[0])] or 0)
            scrap = int(self.published[self.role(unit, pair[1])] or 0)
            if force or self._last_counts.get(unit) != (good, scrap):
                self._last_counts[unit] = (good, scrap)
                self.counter_log.append((tick, unit, good, scrap))

    # -- client actions ----------------------------------------------------------------------------
    def accepts(self, role: str, value: Scalar) -> bool:
        sig = self.signals[role]
        return sig.writable and sig.accepts(value)

    def apply_write(self, role: str, value: Scalar) -> None:
        """An accepted client write: logged, handed to the model, published at once."""
        self.write_log.append((self.tick_index, role, value))
        self.models[self.unit_of[role]].on_write(self.local_of[role], value)
        self.published[role] = value

    def call(self, unit: int, spec: MethodSpec, args: tuple[Scalar, ...]) -> tuple[Scalar, dict[str, Scalar]]:
        """Run a method handler; returns its output and the published values it changed."""
        model = self.models[unit]
        out = model.call(spec.name, args)
        self.method_log.append((self.tick_index, self.role(unit, spec.name), args))
        if model.alarm_reset_requested:
            model.alarm_reset_requested = False
            self.plan.clear(FaultKind.ALARM)
        changed: dict[str, Scalar] = {}
        for sig in self.cls.signals:
            role = self.role(unit, sig.role)
            value = model.values[sig.role]
            if value != self.published[role]:
                self.published[role] = value
                changed[role] = value
        self._log_counters(self.tick_index - 1)
        return out, changed
