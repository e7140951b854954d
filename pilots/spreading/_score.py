"""Scoring one (role, tag) pair for ``template map``: the evidence for and against, each with its reason.

Evidence comes from the names (Korean/English/abbreviations, axis numbers, particle sizes), the unit
(text or UN/CEFACT code, compared with ``pint``: same, convertible or not), the data type, the access level,
the EURange and the values read over a short window (range, counter behaviour). ``Score.conflicts`` lists
evidence that contradicts the role (a unit that cannot be converted, a counter for an analog value, a
read-only tag for a setpoint, another data type): the mapper never calls such a pick ``high``.
``Score.missing`` lists evidence that could not be checked (no unit, no values): it keeps a pick below
``high`` too, because ``high`` means every piece of evidence agrees.
"""

from __future__ import annotations

import itertools
import re
import statistics
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from factorypilot.pilots.spec import RoleSpec
from factorypilot.pilots.spreading._lexicon import concepts
from factorypilot.pilots.spreading._units import UnitMatch, compare_units
from factorypilot.vocabulary import DataType, Scalar, Tag

__all__ = ["RoleProfile", "Score", "TagFacts", "role_profile", "score_method", "score_pair"]

_PLAIN = re.compile(r"[^0-9a-z\uac00-\ud7a3]+")
# concepts that qualify a signal without changing what it is, and what they say about writability
_SETPOINT_WORDS = {"setpoint", "command"}
_ACTUAL_WORDS = {"actual"}


def _plain(text: str) -> str:
    return _PLAIN.sub("", unicodedata.normalize("NFKC", text).lower())


def _texts(value: str | dict[str, str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value.values())


@dataclass(frozen=True)
class RoleProfile:
    role: str
    spec: RoleSpec
    weights: dict[str, float]
    names: frozenset[str]

    @property
    def total(self) -> float:
        return sum(self.weights.values()) or 1.0


def role_profile(role: str, spec: RoleSpec) -> RoleProfile:
    """Concept weights of a role: its key counts most, then its descriptions, then each alias."""
    weights: dict[str, float] = {}

    def add(text: str, w: float) -> None:
        for c in concepts(text):
            weights[c] = weights.get(c, 0.0) + w

    add(role, 3.0)
    for text in _texts(spec.description):
        add(text, 1.5)
    for alias in spec.aliases:
        add(alias, 0.5)
    names = frozenset(_plain(n) for n in [role, *spec.aliases] if _plain(n))
    return RoleProfile(role, spec, weights, names)


@dataclass(frozen=True)
class TagFacts:
    """What the browse told beyond the ``Tag``: component path, unit code, access level for anyone."""

    parts: tuple[str, ...] = ()
    unit_code: str | None = None
    writable_by_someone: bool | None = None


@dataclass
class Score:
    tag: Tag
    total: float = 0.0
    name: float = 0.0
    exact: bool = False
    reasons: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unit: UnitMatch | None = None

    def add(self, points: float, reason: str) -> None:
        self.total += points
        if reason:
            self.reasons.append(f"{reason} ({points:+.2f})")

    def conflict(self, points: float, reason: str) -> None:
        self.add(points, reason)
        self.conflicts.append(reason)


def _tag_concepts(tag: Tag, parts: Sequence[str]) -> set[str]:
    found = concepts(tag.name)
    for text in tag.display_names.values():
        found |= concepts(text)
    found |= concepts(tag.description)
    for part in parts:
        found |= concepts(part)
    return found


def _numeric(values: Sequence[Scalar]) -> list[float]:
    return [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]


def _names(s: Score, profile: RoleProfile, found: set[str], exact_names: set[str]) -> None:
    hit = sum(w for c, w in profile.weights.items() if c in found)
    coverage = hit / profile.total
    extras = found - set(profile.weights) - (_SETPOINT_WORDS if profile.spec.writable else set())
    numbered = {c for c in extras if "#" in c}  # another axis or particle size: a different signal
    s.name = coverage - 0.15 * len(extras - numbered) - 0.4 * len(numbered)
    s.add(coverage, f"name concepts {sorted(c for c in profile.weights if c in found)}")
    if extras:
        s.add(-0.15 * len(extras - numbered) - 0.4 * len(numbered), f"other concepts {sorted(extras)}")
    if exact_names & profile.names:
        s.exact = True
        s.add(0.3, "exact name/alias match")
        s.name += 0.3


def score_pair(profile: RoleProfile, tag: Tag, samples: Sequence[Scalar] = (),
               facts: TagFacts | None = None) -> Score:
    """How well ``tag`` fits the role; ``samples`` are values read from the plant over a short window."""
    facts = facts or TagFacts()
    spec = profile.spec
    s = Score(tag)
    found = _tag_concepts(tag, facts.parts)
    _names(s, profile, found, {_plain(n) for n in [tag.name, *tag.display_names.values()] if _plain(n)})
    # -- data type -------------------------------------------------------------------------------
    numeric = {DataType.FLOAT, DataType.INTEGER}
    if tag.data_type == spec.data_type:
        s.add(0.15, f"type {tag.data_type.value}")
    elif tag.data_type in numeric and spec.data_type in numeric:
        s.add(-0.05, f"type {tag.data_type.value} vs {spec.data_type.value}")
    else:
        s.conflict(-0.8, f"type {tag.data_type.value}, the role wants {spec.data_type.value}")
    # -- unit ------------------------------------------------------------------------------------
    unit_text = tag.unit or facts.unit_code
    if spec.unit:
        s.unit = compare_units(spec.unit, unit_text)
        if s.unit.kind == "same":
            s.add(0.2, s.unit.reason)
        elif s.unit.kind == "convertible":
            s.add(0.1, s.unit.reason)
        elif s.unit.kind == "mismatch":
            s.conflict(-0.5, s.unit.reason)
        else:
            s.add(-0.05, s.unit.reason)
            s.missing.append(s.unit.reason)
    # -- access ----------------------------------------------------------------------------------
    writable = facts.writable_by_someone if facts.writable_by_someone is not None else tag.writable
    if spec.writable and not writable:
        s.conflict(-0.6, "read-only, the role is a setpoint")
    elif spec.writable and found & _ACTUAL_WORDS:
        s.conflict(-0.4, "an actual (measured) value, the role is a setpoint")
    elif not spec.writable and writable:
        if found & _SETPOINT_WORDS:
            s.conflict(-0.4, "a writable setpoint, the role is a measurement")
        else:
            s.add(-0.1, "writable, the role is a measurement")
    elif spec.writable:
        s.add(0.1, "writable")
    _values(s, spec, tag, samples)
    return s


def _values(s: Score, spec: RoleSpec, tag: Tag, samples: Sequence[Scalar]) -> None:
    """Value behaviour over the window and the engineering range against the role's typical range."""
    nums = _numeric(samples)
    if spec.data_type == DataType.BOOLEAN:
        if samples and not all(isinstance(v, bool) for v in samples):
            s.conflict(-0.3, "values are not booleans")
        return
    if spec.data_type not in (DataType.FLOAT, DataType.INTEGER):
        return
    ints = [v for v in samples if isinstance(v, int) and not isinstance(v, bool)]
    if len(ints) >= 3 and all(b > a for a, b in itertools.pairwise(ints)) and spec.data_type == DataType.FLOAT:
        s.conflict(-0.5, "counts up like a counter, the role is an analog value")
    factor = s.unit.factor if s.unit is not None and s.unit.factor is not None else 1.0
    offset = s.unit.offset if s.unit is not None else 0.0
    if spec.typical_range is None:
        return
    lo, hi = spec.typical_range
    span = max(hi - lo, 1e-9, abs(hi) * 0.1)
    if nums:
        mid = statistics.median(nums) * factor + offset
        if lo - span <= mid <= hi + span:
            s.add(0.1, f"values around {mid:g} fit the typical range {lo:g}..{hi:g}")
        elif mid > hi + 10 * span or mid < lo - 10 * span:
            s.conflict(-0.4, f"values around {mid:g} are far from the typical range {lo:g}..{hi:g}")
        else:
            s.add(-0.05, f"values around {mid:g} outside the typical range {lo:g}..{hi:g} (a fault?)")
    else:
        s.missing.append("no value read")
    if tag.limits is not None and tag.limits.high is not None and tag.limits.low is not None:
        elo, ehi = tag.limits.low * factor + offset, tag.limits.high * factor + offset
        if ehi < lo or elo > hi:
            s.conflict(-0.3, f"engineering range {elo:g}..{ehi:g} cannot hold the typical {lo:g}..{hi:g}")
        else:
            s.add(0.05, "engineering range fits")


def score_method(profile: RoleProfile, name: str, display: Sequence[str], description: str,
                 parts: Sequence[str] = ()) -> Score:
    """How well a method (browse name, display names, description) fits a method role."""
    tag = Tag(id=name, name=name, description=description,
              display_names={str(i): d for i, d in enumerate(display)})
    s = Score(tag)
    found = _tag_concepts(tag, parts)
    _names(s, profile, found, {_plain(n) for n in [name, *display] if _plain(n)})
    return s
