"""Goal-first ranking of catalog templates for one firm profile.

Per template (weights in :data:`WEIGHTS`)::

    score = 0.80 * goals + 0.10 * sector hint + 0.10 * equipment - constraints - missing data - unproven gate

- **goals**: every goal sentence is compared with every template's ``solves`` statements (embedding z-score plus
  lexical overlap, :mod:`._match_text`); a softmax over templates turns it into the share of that goal each
  template takes; ``goals`` is the mean share (0..1).
- **sector hint** (bilingual keywords → the template's sector) and **equipment** (each item against ``needs`` and
  ``solves``, same softmax) can only tip a close race: together they weigh 0.2 against the goals' 0.8.
- **constraints** subtract: a constraint that rules something out (a prohibition, an excluded or outsourced area)
  costs each template its share of the constraint, compared with its ``not_for``, ``solves`` and ``needs``.
  A constraint that *permits* something never subtracts.
- **missing data**: a ``needs`` statement with ``data_source`` the profile says is not available costs 0.15.

Deterministic (same profile, catalog and model → same scores). Ties are broken by evidence (goal share, the
strongest single goal, lexical overlap, gate); a tie no evidence separates is reported as a tie.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from factorypilot.pilots.spreading._profile import FirmProfile
from factorypilot.pilots.spreading._text import SentenceSpace, excludes, permits
from factorypilot.pilots.spreading.catalog import CatalogEntry
from factorypilot.pilots.spreading.fit import FitStatement

__all__ = ["WEIGHTS", "Evidence", "Fit", "rank"]

WEIGHTS = {"goals": 0.8, "sector": 0.1, "equipment": 0.1, "constraint": 0.25, "missing_data": 0.15,
           "unproven_gate": 0.05}
_LEXICAL = 1.5        # one perfect lexical overlap is worth 1.5 standard deviations of embedding similarity
_TEMPERATURE = 0.5    # softmax temperature over templates, in z units
_ABOUT = 2.0          # a constraint subtracts only if it is about something a template names: its best statement
                      # is this close (z units) and shares a content word with it

_SECTORS: dict[str, tuple[str, ...]] = {
    "mobility": ("mobility", "automotive", "auto parts", "car", "vehicle", "모빌리티", "자동차", "차량", "완성차"),
    "healthcare": ("healthcare", "medical", "pharma", "의료", "의약", "헬스케어", "바이오", "진단"),
    "robotics": ("robotics", "robot", "로봇", "로보틱스"),
    "abb": ("abb", "big data", "blockchain", "빅데이터", "블록체인", "인공지능"),
}

Kind = Literal["goal", "constraint", "sector", "equipment", "data", "gate"]


@dataclass(frozen=True)
class Evidence:
    """One reason a template gained or lost points: the firm's sentence, the template statement it met."""

    kind: Kind
    sentence: str
    statement: FitStatement | None
    share: float                      # share of this sentence that went to this template (0..1)
    points: float                     # signed contribution to the score
    words: tuple[str, ...] = ()       # words the sentence and the statement share


@dataclass
class Fit:
    entry: CatalogEntry
    score: float = 0.0
    goals: float = 0.0
    evidence: list[Evidence] = field(default_factory=list)
    tied: bool = False

    def by_kind(self, kind: Kind) -> list[Evidence]:
        return [e for e in self.evidence if e.kind == kind]

    def key(self) -> tuple[float, ...]:
        """Sort key: score, then evidence — never the template's name."""
        goal_ev = self.by_kind("goal")
        strongest = max((e.share for e in goal_ev), default=0.0)
        words = float(sum(len(e.words) for e in goal_ev))
        gate = 1.0 if self.entry.manifest.gate.passed else 0.0
        return (-round(self.score, 9), -round(self.goals, 9), -round(strongest, 9), -words, -gate)


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def sector_of(text: str) -> set[str]:
    t = _norm(text)
    words = set(re.findall(r"[0-9a-z\uac00-\ud7a3-]+", t))
    return {s for s, spellings in _SECTORS.items()
            for w in spellings if (w in t if (not w.isascii() or " " in w) else w in words)}


def _softmax(values: list[float]) -> list[float]:
    top = max(values)
    ex = [math.exp((v - top) / _TEMPERATURE) for v in values]
    total = sum(ex)
    return [e / total for e in ex]


def _implicit_solves(entry: CatalogEntry) -> list[FitStatement]:
    """A template exported before ``solves`` existed: its title and description stand in for it."""
    out = []
    for text in (entry.manifest.title, entry.manifest.description):
        loc = {"en": text, "ko": text} if isinstance(text, str) else text
        en, ko = loc.get("en") or loc.get("ko") or "", loc.get("ko") or loc.get("en") or ""
        if en and ko:
            out.append(FitStatement(en=en, ko=ko))
    return out


def required_sources(entry: CatalogEntry) -> dict[str, FitStatement | None]:
    """Data sources a template cannot work without: its ``needs`` with ``data_source``, else the manifest's
    ``data_sources`` (templates exported before ``needs`` existed)."""
    m = entry.manifest
    declared: dict[str, FitStatement | None] = {n.data_source: n for n in m.needs if n.data_source}
    return declared or dict.fromkeys(m.data_sources)


@dataclass
class _Pool:
    """Every statement of the catalog, both languages, with its template and section."""

    space: SentenceSpace
    owner: list[tuple[int, str, FitStatement]]   # (template index, section, statement) per pooled text

    @classmethod
    def build(cls, entries: list[CatalogEntry], **kw: Any) -> _Pool:
        texts: list[str] = []
        owner: list[tuple[int, str, FitStatement]] = []
        for i, e in enumerate(entries):
            m = e.manifest
            for section, items in (("solves", m.solves or _implicit_solves(e)), ("needs", m.needs),
                                   ("not_for", m.not_for)):
                for st in items:
                    if section == "needs" and st.data_source:
                        continue
                    for text in dict.fromkeys((st.en, st.ko)):
                        texts.append(text)
                        owner.append((i, section, st))
        return cls(SentenceSpace(texts, **kw), owner)

    def best(self, sentence: str, n: int, sections: tuple[str, ...]
             ) -> list[tuple[float, FitStatement | None, tuple[str, ...]]]:
        """Per template: the best combined similarity over its statements in ``sections``."""
        z = self.space.zscores(sentence)
        ov, shared = self.space.overlap(sentence)
        out: list[tuple[float, FitStatement | None, tuple[str, ...]]] = [(-9.0, None, ())] * n
        for k, (i, section, st) in enumerate(self.owner):
            if section not in sections:
                continue
            value = float(z[k]) + _LEXICAL * float(ov[k])
            if value > out[i][0]:
                out[i] = (value, st, tuple(sorted(shared[k])))
        return out


def _spread(fits: list[Fit], kind: Kind, sentence: str, pool: _Pool, sections: tuple[str, ...],
            weight: float, sign: float = 1.0) -> list[float]:
    """Share a sentence over the templates (softmax of the best statement per template); record evidence."""
    best = pool.best(sentence, len(fits), sections)
    present = [i for i, b in enumerate(best) if b[1] is not None]
    shares = [0.0] * len(fits)
    if not present:
        return shares
    soft = _softmax([best[i][0] for i in present])
    for i, p in zip(present, soft, strict=True):
        shares[i] = p
        fits[i].evidence.append(Evidence(kind, sentence, best[i][1], p, sign * weight * p, best[i][2]))
    return shares


def _has_source(profile: FirmProfile, source: str) -> bool | None:
    """True/False as the profile says; a source missing from a ``data_sources`` that lists others is False
    (not listed); no ``data_sources`` at all is None (unknown: no penalty, nothing claimed)."""
    ds = profile.data_sources
    listed = ds.opcua is not None or ds.mes is not None or bool(ds.other)
    if source == "opcua":
        if ds.opcua is None:
            return False if listed else None
        return ds.opcua.available
    if ds.mes is None:
        return False if listed else None
    vendor = (ds.mes.vendor or "").strip().lower()
    if ds.mes.export_formats:
        return True
    return None if not vendor else vendor not in ("none", "없음", "no", "-") and not vendor.startswith("none")


def rank(profile: FirmProfile, entries: list[CatalogEntry], **space: Any) -> list[Fit]:
    """Every entry scored for the profile, best first (see the module docstring)."""
    fits = [Fit(e) for e in entries]
    if not fits:
        return fits
    pool = _Pool.build(entries, **space)
    w = WEIGHTS
    goals = [g for g in profile.goals if g.strip()]
    for g in goals:
        for i, p in enumerate(_spread(fits, "goal", g, pool, ("solves",), w["goals"] / len(goals))):
            fits[i].goals += p / len(goals)
    if not goals:
        for f in fits:
            f.goals = 1.0 / len(fits)
    hint = " ".join([profile.sector_hint or "", *profile.products])
    sectors = sector_of(hint)
    for f in fits:
        if f.entry.manifest.sector in sectors:
            f.evidence.append(Evidence("sector", profile.sector_hint or hint, None, 1 / len(sectors),
                                       w["sector"] / len(sectors)))
    items = [t for t in profile.equipment_texts() if t.strip()]
    for t in items:
        _spread(fits, "equipment", t, pool, ("needs", "solves"), w["equipment"] / len(items))
    for c in profile.constraints:
        if permits(c) or not excludes(c):
            continue
        top = max(pool.best(c, len(fits), ("not_for", "solves", "needs")), key=lambda b: b[0])
        if top[0] >= _ABOUT and top[2]:
            _spread(fits, "constraint", c, pool, ("not_for", "solves", "needs"), w["constraint"], sign=-1.0)
    for f in fits:
        for source, need in required_sources(f.entry).items():
            if _has_source(profile, source) is False:
                f.evidence.append(Evidence("data", source, need, 1.0, -w["missing_data"]))
        gate = f.entry.manifest.gate
        if not getattr(f.entry, "reference", False) and (gate.overridden or not gate.passed):
            f.evidence.append(Evidence("gate", "", None, 1.0, -w["unproven_gate"]))
        f.score = f.goals * w["goals"] + sum(e.points for e in f.evidence if e.kind != "goal")
    order = sorted(range(len(fits)), key=lambda i: (fits[i].key(), i))
    ranked = [fits[i] for i in order]
    for a, b in itertools.pairwise(ranked):
        if a.key() == b.key():
            a.tied = b.tied = True
    return ranked


def confidence(fits: list[Fit]) -> float:
    """How sure the top choice is: softmax of the scores (temperature 0.1) — 1.0 with one template."""
    if not fits:
        return 0.0
    scores = np.array([f.score for f in fits], dtype=np.float64)
    ex = np.exp((scores - scores.max()) / 0.1)
    return float(ex[0] / ex.sum())
