"""What a sector model declares: its ISA-95 hierarchy, its signals, its methods, and how it steps.

A sector model is a :class:`PlantModel` subclass. It declares *one line* of a plant (the simulator replicates
it ``scale`` times) and computes the next values from the previous ones each tick. It must be deterministic:
use ``self.rng`` (seeded by the simulator) and the tick index, never the wall clock.
"""

from __future__ import annotations

import random
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from factorypilot.errors import ConfigError
from factorypilot.vocabulary import DataType, Limits, Scalar

__all__ = ["Asset", "Hierarchy", "MethodArg", "MethodSpec", "PlantModel", "Signal"]

_SNAKE = re.compile(r"[a-z][a-z0-9_]*")
_KEY = re.compile(r"[a-z][a-z0-9-]*")
_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_DEFAULTS: dict[DataType, Scalar] = {DataType.FLOAT: 0.0, DataType.INTEGER: 0, DataType.BOOLEAN: False,
                                     DataType.STRING: ""}


@dataclass(frozen=True)
class Asset:
    """One ISA-95 level object: a kebab-case ``key`` (node ids), English ``browse_name``, Korean display name."""

    key: str
    browse_name: str
    name_ko: str
    description: str = ""

    def __post_init__(self) -> None:
        if not _KEY.fullmatch(self.key):
            raise ConfigError(f"asset key {self.key!r} must be kebab-case (a-z, 0-9, '-')",
                              hint="e.g. 'cnc-01'")
        if not _IDENT.fullmatch(self.browse_name):
            raise ConfigError(f"browse name {self.browse_name!r} must be an English identifier",
                              where=f"asset {self.key}", hint="e.g. 'CNC01'")


@dataclass(frozen=True)
class Hierarchy:
    """Enterprise / site / area / line of the model (equipment and cells are declared per signal)."""

    enterprise: Asset
    site: Asset
    area: Asset
    line: Asset


@dataclass(frozen=True)
class Signal:
    """Declaration of one simulated variable.

    ``equipment`` is the key of one of the model's ``equipment`` assets, or ``None`` for a line-level signal.
    ``unit`` is the display symbol, ``unece_code`` the UN/CEFACT common code published in the OPC UA
    ``EngineeringUnits`` property. ``limits`` bound what clients may write (enforced by the server).
    """

    role: str
    equipment: str | None
    browse_name: str
    name_ko: str
    description: str
    data_type: DataType = DataType.FLOAT
    unit: str | None = None
    unece_code: str | None = None
    eu_range: tuple[float, float] | None = None
    writable: bool = False
    limits: Limits | None = None
    initial: Scalar = None
    historize: bool = False

    def __post_init__(self) -> None:
        where = f"signal {self.role!r}"
        if not _SNAKE.fullmatch(self.role):
            raise ConfigError(f"role {self.role!r} must be snake_case", where=where, hint="e.g. 'spindle_vibration'")
        if not _IDENT.fullmatch(self.browse_name):
            raise ConfigError(f"browse name {self.browse_name!r} must be an English identifier", where=where,
                              hint="e.g. 'SpindleVibration'")
        if self.data_type not in _DEFAULTS:
            raise ConfigError(f"data type {self.data_type} is not simulated", where=where,
                              hint="use float, integer, boolean or string")
        if self.writable and self.limits is None and self.data_type in (DataType.FLOAT, DataType.INTEGER):
            raise ConfigError("a writable numeric signal needs limits", where=where,
                              hint="pass limits=Limits(low=..., high=...)")

    @property
    def default(self) -> Scalar:
        return self.initial if self.initial is not None else _DEFAULTS[self.data_type]

    def accepts(self, value: Scalar) -> bool:
        """Whether a client write of ``value`` is inside the signal's limits (type already checked)."""
        if self.limits is None or isinstance(value, bool) or not isinstance(value, int | float):
            return True
        return self.limits.contains(float(value))


@dataclass(frozen=True)
class MethodArg:
    name: str
    data_type: DataType
    description: str = ""


MethodHandler = Callable[["PlantModel", tuple[Scalar, ...]], Scalar]


@dataclass(frozen=True)
class MethodSpec:
    """An OPC UA method on an equipment (or the line, ``equipment=None``); ``handler(model, args)``."""

    name: str
    equipment: str | None
    name_ko: str
    description: str
    handler: MethodHandler
    args: tuple[MethodArg, ...] = ()
    output: MethodArg | None = None


class PlantModel(ABC):
    """Base class of sector models. Subclass it, declare the class attributes, implement :meth:`step`.

    The simulator creates one instance per replicated line and calls :meth:`bind` with a seeded
    ``random.Random`` before the first tick. ``values`` holds the published value of every role; hidden
    physical state belongs in instance attributes.
    """

    name: ClassVar[str]
    title_ko: ClassVar[str] = ""
    description: ClassVar[str] = ""
    hierarchy: ClassVar[Hierarchy]
    equipment: ClassVar[tuple[Asset, ...]] = ()
    signals: ClassVar[tuple[Signal, ...]] = ()
    methods: ClassVar[tuple[MethodSpec, ...]] = ()
    absorbs: ClassVar[frozenset[str]] = frozenset()
    """Roles whose fault disturbances the model folds into its physics itself (not added to the output)."""
    alarm_roles: ClassVar[tuple[str, str] | None] = None
    """(alarm_active role, alarm_code role) that an ALARM fault raises."""
    counter_roles: ClassVar[tuple[str, str] | None] = None
    """(good count role, scrap count role) the MES export generator reports per work order."""
    product_id: ClassVar[str] = "PART-0001"
    """Material definition id of what the line makes (MES exports)."""

    def __init__(self) -> None:
        self.rng = random.Random(0)
        self.values: dict[str, Scalar] = {}
        self.external_alarm: int | None = None
        """Alarm code of an active ALARM fault (set by the simulator before each :meth:`step`), else None."""
        self.alarm_reset_requested = False
        """A method handler sets this to ask the simulator to clear active ALARM faults."""

    # -- declarations ------------------------------------------------------------------------------
    @classmethod
    def validate(cls) -> None:
        """Check the declarations once (unique roles, known equipment); raises ConfigError."""
        where = f"model {getattr(cls, 'name', cls.__name__)!r}"
        keys = {a.key for a in cls.equipment}
        roles: set[str] = set()
        for s in cls.signals:
            if s.role in roles:
                raise ConfigError(f"role {s.role!r} is declared twice", where=where, hint="roles must be unique")
            roles.add(s.role)
            if s.equipment is not None and s.equipment not in keys:
                raise ConfigError(f"signal {s.role!r} names unknown equipment {s.equipment!r}", where=where,
                                  hint=f"declare it in `equipment` (known: {sorted(keys)})")
        for m in cls.methods:
            if m.equipment is not None and m.equipment not in keys:
                raise ConfigError(f"method {m.name!r} names unknown equipment {m.equipment!r}", where=where)
        for label, pair in (("alarm", cls.alarm_roles), ("counter", cls.counter_roles)):
            if pair and not set(pair) <= roles:
                raise ConfigError(f"{label} roles {pair} are not declared signals", where=where)

    @classmethod
    def signal(cls, role: str) -> Signal:
        for s in cls.signals:
            if s.role == role:
                return s
        raise KeyError(role)

    # -- life cycle --------------------------------------------------------------------------------
    def bind(self, rng: random.Random) -> None:
        """Seed the model and set every signal to its initial value (called by the simulator)."""
        self.rng = rng
        self.values = {s.role: s.default for s in self.signals}
        self.reset()

    def reset(self) -> None:  # noqa: B027 - optional hook
        """Hook: initialise hidden state after :meth:`bind`."""

    @abstractmethod
    def step(self, tick: int, disturbance: Mapping[str, float]) -> None:
        """Advance one tick: update ``self.values`` in place.

        ``disturbance`` maps a role in :attr:`absorbs` to the additive fault offset active this tick.
        """

    def on_write(self, role: str, value: Scalar) -> None:
        """A client write was accepted (inside limits). Default: store it."""
        self.values[role] = value

    def call(self, method: str, args: tuple[Scalar, ...]) -> Scalar:
        for m in self.methods:
            if m.name == method:
                return m.handler(self, args)
        raise KeyError(method)

    def snapshot(self) -> dict[str, Any]:
        return dict(self.values)


def roles_of(model: type[PlantModel]) -> list[str]:
    return [s.role for s in model.signals]

