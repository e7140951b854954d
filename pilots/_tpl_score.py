"""Scoring one (role, tag) pair for ``template map``: names, units, data type, writability, sampled values.

Every score comes with its reasons (short English/Korean phrases) so a person can see *why* a tag was
proposed. Scores are additive and roughly in [-1, 1.6]; the mapper turns them into confidence levels.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from factorypilot.pilots._tpl_lexicon import concepts, normalize_unit, unit_dimension
from factorypilot.pilots.spec import RoleSpec
from factorypilot.vocabulary import DataType, Scalar, Tag

__all__ = ["RoleProfile", "Score", "role_profile", "score_pair"]

_PLAIN = re.compile(r"[^0-9a-z\uac00-\ud7a3]+")


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
    names = frozenset(_plain(n) for n in [role, *spec.aliases, *_texts(spec.description)] if _plain(n))
    return RoleProfile(role, spec, weights, names)


@dataclass
class Score:
    tag: Tag
    total: float = 0.0
    name: float = 0.0
    reasons: list[str] = field(default_factory=list)

    def add(self, points: float, reason: str) -> None:
        self.total += points
        if reason:
            self.reasons.append(f"{reason} ({points:+.2f})")


def _tag_concepts(tag: Tag) -> set[str]:
    found = concepts(tag.name)
    for text in tag.display_names.values():
        found |= concepts(text)
    found |= concepts(tag.description)
    found |= concepts(tag.id.rsplit(".", 1)[-1].rsplit("=", 1)[-1])
    return found


def _numeric(values: Sequence[Scalar]) -> list[float]:
    return [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]


def score_pair(profile: RoleProfile, tag: Tag, samples: Sequence[Scalar] = ()) -> Score:
    """How well ``tag`` fits the role; ``samples`` are values read from the plant over a short window."""
    spec = profile.spec
    s = Score(tag)
    # -- names (Korean/English/abbreviations) ----------------------------------------------------
    tag_c = _tag_concepts(tag)
    hit = sum(w for c, w in profile.weights.items() if c in tag_c)
    coverage = hit / profile.total
    extras = tag_c - set(profile.weights)
    s.name = coverage - 0.15 * len(extras)
    s.add(coverage, f"name concepts {sorted(c for c in profile.weights if c in tag_c)}")
    if extras:
        s.add(-0.15 * len(extras), f"other concepts {sorted(extras)}")
    tag_names = {_plain(n) for n in [tag.name, *tag.display_names.values()] if _plain(n)}
    if tag_names & profile.names:
        s.add(0.3, "exact name/alias match")
        s.name += 0.3
    # -- data type -------------------------------------------------------------------------------
    numeric = {DataType.FLOAT, DataType.INTEGER}
    if tag.data_type == spec.data_type:
        s.add(0.15, f"type {tag.data_type.value}")
    elif tag.data_type in numeric and spec.data_type in numeric:
        s.add(-0.05, f"type {tag.data_type.value} vs {spec.data_type.value}")
    else:
        s.add(-0.8, f"type {tag.data_type.value} ≠ {spec.data_type.value}")
    # -- unit ------------------------------------------------------------------------------------
    want, have = normalize_unit(spec.unit), normalize_unit(tag.unit)
    if want is not None:
        if have == want:
            s.add(0.2, f"unit {tag.unit}")
        elif have is None:
            s.add(-0.05, "no unit")
        elif unit_dimension(have) and unit_dimension(have) == unit_dimension(want):
            s.add(0.1, f"unit {tag.unit} (same dimension, convert)")
        elif unit_dimension(have) and unit_dimension(want):
            s.add(-0.35, f"unit {tag.unit} is {unit_dimension(have)}, role wants {unit_dimension(want)}")
        else:
            s.add(-0.15, f"unit {tag.unit} ≠ {spec.unit}")
    # -- writability -----------------------------------------------------------------------------
    if spec.writable and not tag.writable:
        s.add(-0.6, "read-only, role is a setpoint")
    elif not spec.writable and tag.writable:
        s.add(-0.2, "writable setpoint, role is a measurement")
    elif spec.writable:
        s.add(0.1, "writable")
    # -- values seen over the sample window and the engineering range ------------------------------
    nums = _numeric(samples)
    if spec.typical_range is not None:
        lo, hi = spec.typical_range
        span = max(hi - lo, 1e-9)
        if nums:
            outside = sum(1 for v in nums if v < lo - 0.25 * span or v > hi + 0.25 * span) / len(nums)
            if outside == 0:
                s.add(0.1, f"values {min(nums):g}..{max(nums):g} in typical range")
            else:
                s.add(-0.4 * outside, f"{outside:.0%} of values outside typical range")
        if tag.limits is not None and tag.limits.high is not None and tag.limits.high < lo + 0.5 * span:
            s.add(-0.2, f"engineering range ends at {tag.limits.high:g}")
    if spec.data_type == DataType.BOOLEAN and samples and not all(isinstance(v, bool) for v in samples):
        s.add(-0.3, "values are not booleans")
    return s
