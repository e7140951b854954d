"""Firm-to-template matching: rank catalog templates for a firm profile, cite why, Korean and English.

A growth supporter writes a profile per firm (``factorypilot match --example`` prints a commented blank)::

    company: {name: 영천플라텍}
    sector_hint: 자동차 내장 사출 부품
    equipment: [사출성형기 16대, {type: 후가공 로봇 셀, count: 3}]
    data_sources: {opcua: {available: true}}
    goals: [후가공 로봇 셀이 하루에도 몇 번씩 알람으로 멈추는데 원인을 빨리 찾고 싶다]
    constraints: [사출 조건은 고객사 승인 사항이라 건드리지 않음]

Each goal sentence is compared with every template's ``solves`` statements (offline multilingual embedding plus
Korean-aware lexical overlap); goals outweigh the sector hint and equipment; constraints that rule something out
subtract; a missing required data source is a penalty with its reason (see :mod:`._match_rank`). The result is
a :class:`Ranking`: a score per template, the confidence of the top choice, whether it is a close call and what
would decide it, and per template the firm's sentences that drove its score.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from factorypilot.errors import ConfigError
from factorypilot.pilots.spreading._explain import close_call, decide, reasons
from factorypilot.pilots.spreading._profile import (
    Equipment,
    FirmProfile,
    load_profile,
    parse_profile,
    profile_schema,
)
from factorypilot.pilots.spreading._rank import Evidence, Fit, confidence, rank
from factorypilot.pilots.spreading.catalog import Catalog, CatalogEntry

__all__ = ["FILL_CATALOG", "Equipment", "FirmProfile", "Match", "Ranking", "load_profile", "match_templates",
           "parse_profile", "profile_schema"]

FILL_CATALOG = "factorypilot template export PILOT (or use the default catalog, without --no-reference)"


@dataclass
class Match:
    entry: CatalogEntry
    score: float
    goal_fit: float
    evidence: list[Evidence] = field(default_factory=list)
    reasons: list[dict[str, str]] = field(default_factory=list)
    tied: bool = False

    def explain(self, lang: str = "en") -> list[str]:
        return [r.get(lang) or r["en"] for r in self.reasons]


@dataclass
class Ranking:
    """Templates for one firm, best first, with the confidence of the top choice."""

    profile: FirmProfile
    matches: list[Match]
    confidence: float
    close_call: bool
    decide: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[Match]:
        return iter(self.matches)

    def __len__(self) -> int:
        return len(self.matches)

    def __getitem__(self, i: int) -> Match:
        return self.matches[i]

    @property
    def best(self) -> Match:
        return self.matches[0]

    def to_dict(self, lang: str) -> dict[str, Any]:
        p = self.profile
        return {
            "firm": p.id, "name": p.name, "language": p.lang, "confidence": round(self.confidence, 3),
            "close_call": self.close_call, "decide": [d.get(lang) or d["en"] for d in self.decide],
            "warnings": self.warnings,
            "ranking": [{"template": m.entry.id, "title": m.entry.title(lang), "score": round(m.score, 3),
                         "goal_fit": round(m.goal_fit, 3), "reference": m.entry.reference, "tied": m.tied,
                         "reasons": m.explain(lang)} for m in self.matches],
        }


def match_templates(profile: FirmProfile, catalog: Catalog, *, warnings: list[str] | None = None,
                    **space: Any) -> Ranking:
    """Every catalog template scored for the firm, best first, each with its cited reasons (``ko``/``en``).

    An empty catalog is an error naming the command that fills it (never an empty, successful answer).
    """
    entries = catalog.list()
    if not entries:
        raise ConfigError("the template catalog is empty: there is nothing to match against "
                          "(템플릿 카탈로그가 비어 있어 추천할 수 없음)",
                          hint=f"fill it with (채우는 명령): {FILL_CATALOG}")
    fits: list[Fit] = rank(profile, entries, **space)
    matches = [Match(f.entry, round(f.score, 3), f.goals, f.evidence, reasons(profile, f), f.tied) for f in fits]
    close = close_call(profile, fits)
    return Ranking(profile, matches, confidence(fits), close, decide(profile, fits) if close else [],
                   list(warnings or []))
