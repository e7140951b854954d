"""Firm-to-template matching: rank catalog templates for a firm profile and say why, in Korean and English.

A growth supporter writes a small profile per firm (``FIRM_PROFILE.yaml``)::

    name: 성서정밀
    sector: 자동차부품            # or mobility, healthcare, 의료기기, robotics, 로봇, abb ...
    equipment: [CNC 머시닝센터, 유압프레스]
    data_sources: [OPC-UA, MES 엑셀]
    goals: [비가동 시간 감소, 불량 감소]   # downtime, scrap, OEE/productivity, MTTR

Each template gets points for the sector (0.4), the goals its KPIs serve (0.3), the equipment its roles and
texts name (0.2) and whether the firm has the data sources it needs (0.1; missing ones cost 0.3).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from factorypilot.connectors.registry import config_error
from factorypilot.errors import ConfigError
from factorypilot.pilots._tpl_lexicon import concepts
from factorypilot.pilots.catalog import Catalog, CatalogEntry, entry_text

__all__ = ["FirmProfile", "Match", "load_profile", "match_templates"]

_SECTORS: dict[str, tuple[str, ...]] = {
    "mobility": ("mobility", "automotive", "auto parts", "car", "모빌리티", "자동차", "자동차부품", "차량", "부품가공"),
    "healthcare": ("healthcare", "medical", "medical device", "의료", "의료기기", "헬스케어", "바이오"),
    "robotics": ("robotics", "robot", "로봇", "로보틱스", "자동화"),
    "abb": ("abb", "ai", "big data", "blockchain", "빅데이터", "블록체인", "데이터"),
}
_GOALS: dict[str, tuple[str, ...]] = {
    "downtime": ("downtime", "breakdown", "stoppage", "predictive", "availability", "다운타임", "비가동", "정지",
                 "고장", "예지보전", "설비보전", "가동률"),
    "scrap_rate": ("scrap", "defect", "quality", "reject", "yield", "불량", "스크랩", "품질", "수율"),
    "oee": ("oee", "productivity", "throughput", "output", "설비종합효율", "생산성", "생산량", "효율"),
    "mttr": ("mttr", "repair", "recovery", "maintenance time", "수리", "복구", "정비시간"),
}
_SOURCES: dict[str, tuple[str, ...]] = {
    "opcua": ("opc-ua", "opc ua", "opcua", "opc"),
    "mes-files": ("mes", "csv", "excel", "xlsx", "b2mml", "엑셀", "파일"),
}
_EQUIPMENT: dict[str, tuple[str, ...]] = {
    "cnc": ("cnc", "mct", "machining", "머시닝", "가공", "선반", "lathe", "spindle", "주축", "스핀들"),
    "press": ("press", "프레스", "stamping", "프레스기"),
    "robot": ("robot", "로봇", "arm", "cell"),
    "cleanroom": ("cleanroom", "클린룸", "청정실"),
    "injection": ("injection", "사출", "molding", "성형"),
}


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _classify(text: str, table: dict[str, tuple[str, ...]]) -> set[str]:
    t = _norm(text)
    words = set(re.findall(r"[0-9a-z\uac00-\ud7a3-]+", t))
    out: set[str] = set()
    for key, spellings in table.items():
        for s in spellings:
            if (s.isascii() and (s in words or (" " in s and s in t))) or (not s.isascii() and s in t):
                out.add(key)
    return out


class FirmProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    sector: str | None = None
    equipment: list[str] = Field(default_factory=list)
    data_sources: list[str] = Field(default_factory=list)
    goals: list[str] = Field(default_factory=list)
    lang: Literal["en", "ko"] = "ko"


def load_profile(path: Path) -> FirmProfile:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"firm profile not found: {path}", hint="see docs/templates.md, 'Matching'") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read firm profile: {exc}", where=str(path)) from exc
    try:
        return FirmProfile.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, where=str(path)) from exc


@dataclass
class Match:
    entry: CatalogEntry
    score: float
    reasons: list[dict[str, str]] = field(default_factory=list)

    def explain(self, lang: str = "en") -> list[str]:
        return [r.get(lang) or r["en"] for r in self.reasons]


def match_templates(profile: FirmProfile, catalog: Catalog) -> list[Match]:
    """Every catalog template scored for the firm, best first, each with reasons (``ko``/``en``)."""
    sectors = _classify(profile.sector or "", _SECTORS)
    goals = set().union(*(_classify(g, _GOALS) for g in profile.goals)) if profile.goals else set()
    sources = set().union(*(_classify(s, _SOURCES) for s in profile.data_sources)) if profile.data_sources else set()
    firm_eq = set().union(*(_classify(e, _EQUIPMENT) for e in profile.equipment)) if profile.equipment else set()
    firm_concepts = set().union(*(concepts(e) for e in profile.equipment)) if profile.equipment else set()
    out: list[Match] = []
    for entry in catalog.list():
        m = entry.manifest
        text = entry_text(entry)
        match = Match(entry, 0.0)
        if m.sector in sectors:
            match.score += 0.4
            match.reasons.append({"en": f"same sector ({m.sector})", "ko": f"동일 업종 ({m.sector})"})
        elif sectors:
            match.reasons.append({"en": f"other sector ({m.sector})", "ko": f"다른 업종 ({m.sector})"})
        served = goals & set(m.kpis)
        if goals:
            match.score += 0.3 * len(served) / len(goals)
            if served:
                match.reasons.append({"en": f"measures your goals: {', '.join(sorted(served))}",
                                      "ko": f"목표 KPI 측정: {', '.join(sorted(served))}"})
            missing = goals - served
            if missing:
                match.reasons.append({"en": f"does not measure: {', '.join(sorted(missing))}",
                                      "ko": f"측정하지 않는 목표: {', '.join(sorted(missing))}"})
        tmpl_eq = _classify(text, _EQUIPMENT)
        shared = (firm_eq & tmpl_eq) | {f"~{c}" for c in firm_concepts & concepts(text)}
        if firm_eq or firm_concepts:
            overlap = len(firm_eq & tmpl_eq) / max(len(firm_eq), 1)
            match.score += 0.2 * min(1.0, overlap + 0.05 * len(firm_concepts & concepts(text)))
            if firm_eq & tmpl_eq:
                names = ", ".join(sorted(firm_eq & tmpl_eq))
                match.reasons.append({"en": f"written for your equipment: {names}", "ko": f"보유 설비 대상: {names}"})
            elif not shared:
                match.reasons.append({"en": "not written for your equipment", "ko": "보유 설비와 무관"})
        need = set(m.data_sources)
        if need & sources or not need:
            match.score += 0.1
            match.reasons.append({"en": f"you have the data it needs ({', '.join(sorted(need & sources))})",
                                  "ko": f"필요 데이터 보유 ({', '.join(sorted(need & sources))})"})
        else:
            match.score -= 0.3
            match.reasons.append({"en": f"needs {', '.join(sorted(need))}, which the firm does not list",
                                  "ko": f"{', '.join(sorted(need))} 연결 필요 (현재 없음)"})
        if m.gate.passed and not m.gate.overridden:
            match.reasons.append({"en": "passed its evaluation gate", "ko": "평가 게이트 통과"})
        else:
            match.score -= 0.05
            match.reasons.append({"en": "exported without a passed gate (override recorded)",
                                  "ko": "게이트 미통과 상태로 배포됨 (예외 승인 기록)"})
        match.score = round(match.score, 3)
        out.append(match)
    out.sort(key=lambda x: (-x.score, x.entry.id))
    return out
