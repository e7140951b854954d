"""Two baselines for benchmarks/matching.py, on the same profiles and catalog as the new ranking.

* ``keyword_rank`` — the scorer factorypilot shipped before the goal-first ranking (issue 16), kept verbatim in
  spirit: sector keyword 0.4, goals mapped to the KPI ids a template declares 0.3, equipment nouns 0.2, data
  sources 0.1 (missing: -0.3), ties broken alphabetically. A new-format profile is read through the old fields
  (sector_hint → sector, equipment texts, data sources as words, goals).
* ``naive_embedding_rank`` — the whole profile as one text, embedded once, against each template's title and
  description (Korean and English) with the same offline model; cosine, best first.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import numpy as np

from factorypilot.pilots.spreading._lexicon import concepts
from factorypilot.pilots.spreading.catalog import CatalogEntry, entry_text
from factorypilot.pilots.spreading.matching import FirmProfile

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


def _classify(text: str, table: dict[str, tuple[str, ...]]) -> set[str]:
    t = unicodedata.normalize("NFKC", text).lower()
    words = set(re.findall(r"[0-9a-z\uac00-\ud7a3-]+", t))
    return {key for key, spellings in table.items() for s in spellings
            if (s.isascii() and (s in words or (" " in s and s in t))) or (not s.isascii() and s in t)}


def _old_sources(p: FirmProfile) -> list[str]:
    ds = p.data_sources
    out = list(ds.other)
    if ds.opcua is not None and ds.opcua.available:
        out.append("OPC-UA")
    if ds.mes is not None and (ds.mes.export_formats or ds.mes.vendor):
        out.append("MES " + " ".join(ds.mes.export_formats))
    return out


def keyword_rank(p: FirmProfile, entries: list[CatalogEntry]) -> list[str]:
    sectors = _classify(p.sector_hint or "", _SECTORS)
    goals = set().union(*(_classify(g, _GOALS) for g in p.goals)) if p.goals else set()
    sources = set().union(*(_classify(s, _SOURCES) for s in _old_sources(p))) if _old_sources(p) else set()
    eq = p.equipment_texts()
    firm_eq = set().union(*(_classify(e, _EQUIPMENT) for e in eq)) if eq else set()
    firm_concepts = set().union(*(concepts(e) for e in eq)) if eq else set()
    scored: list[tuple[float, str]] = []
    for entry in entries:
        m = entry.manifest
        text = entry_text(entry)
        score = 0.4 if m.sector in sectors else 0.0
        if goals:
            score += 0.3 * len(goals & set(m.kpis)) / len(goals)
        tmpl_eq = _classify(text, _EQUIPMENT)
        if firm_eq or firm_concepts:
            overlap = len(firm_eq & tmpl_eq) / max(len(firm_eq), 1)
            score += 0.2 * min(1.0, overlap + 0.05 * len(firm_concepts & concepts(text)))
        need = set(m.data_sources)
        score += 0.1 if (need & sources or not need) else -0.3
        if not (m.gate.passed and not m.gate.overridden):
            score -= 0.05
        scored.append((round(score, 3), entry.id))
    scored.sort(key=lambda x: (-x[0], x[1]))
    return [tid for _, tid in scored]


def _profile_text(p: FirmProfile) -> str:
    parts = [p.sector_hint or "", *p.products, *p.equipment_texts(), *p.goals, *p.constraints, p.notes or ""]
    return " ".join(x for x in parts if x)


_DOC_CACHE: dict[tuple[str, ...], Any] = {}


def naive_embedding_rank(p: FirmProfile, entries: list[CatalogEntry], embedder: Any) -> list[str]:
    key = tuple(e.id for e in entries)
    if key not in _DOC_CACHE:
        docs = []
        for e in entries:
            m = e.manifest
            texts = [m.title, m.description]
            docs.append(" ".join(t for x in texts for t in ([x] if isinstance(x, str) else list(x.values()))))
        _DOC_CACHE[key] = np.asarray(embedder.passages(docs), dtype=np.float32)
    vecs = _DOC_CACHE[key]
    q = np.asarray(embedder.query(_profile_text(p)), dtype=np.float32)
    sims = vecs @ q / (np.linalg.norm(vecs, axis=1) * np.linalg.norm(q))
    order = sorted(range(len(entries)), key=lambda i: -float(sims[i]))
    return [entries[i].id for i in order]
