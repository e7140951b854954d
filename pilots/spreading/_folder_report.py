"""Matching a whole folder of firm profiles: a ranking per firm and a programme summary, Markdown or JSON.

A profile that cannot be read is reported (file and error) in the summary — never silently dropped — and the
others are still ranked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factorypilot.errors import FactoryPilotError
from factorypilot.pilots.spreading.catalog import Catalog
from factorypilot.pilots.spreading.matching import Ranking, load_profile, match_templates

__all__ = ["PROFILE_SUFFIXES", "ProgrammeMatch", "match_folder", "pct", "render_markdown", "to_json"]

PROFILE_SUFFIXES = (".yaml", ".yml", ".json")

_T: dict[str, dict[str, str]] = {
    "title": {"en": "Template matching", "ko": "템플릿 매칭"},
    "summary": {"en": "Programme summary: which template each firm should start with",
                "ko": "사업 요약: 기업별 시작 템플릿"},
    "firm": {"en": "Firm", "ko": "기업"}, "start": {"en": "Start with", "ko": "시작 템플릿"},
    "conf": {"en": "Confidence", "ko": "확신도"}, "second": {"en": "Second", "ko": "차순위"},
    "close": {"en": "Close call", "ko": "접전"}, "yes": {"en": "yes", "ko": "예"}, "no": {"en": "no", "ko": "아니오"},
    "template": {"en": "Template", "ko": "템플릿"}, "score": {"en": "Score", "ko": "점수"},
    "why": {"en": "Why", "ko": "근거"}, "decide": {"en": "Close call — what would decide",
                                                 "ko": "접전 — 결정에 필요한 것"},
    "warnings": {"en": "Warnings", "ko": "경고"}, "failed": {"en": "Profiles that could not be read",
                                                         "ko": "읽을 수 없는 프로필"},
    "reference": {"en": "reference", "ko": "레퍼런스"},
}


def pct(confidence: float) -> str:
    """A confidence for people: never a flat '100%' (the ranking is evidence, not proof)."""
    return ">99%" if confidence > 0.99 else f"{confidence:.0%}"


def t(key: str, lang: str) -> str:
    return _T[key].get(lang) or _T[key]["en"]


@dataclass
class ProgrammeMatch:
    rankings: list[Ranking] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)   # (file, error)


def profile_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in PROFILE_SUFFIXES)


def match_folder(folder: Path, catalog: Catalog, **space: Any) -> ProgrammeMatch:
    """Every profile file directly in ``folder`` (``.yaml``/``.yml``/``.json``), ranked."""
    out = ProgrammeMatch()
    for path in profile_files(folder):
        try:
            profile, warnings = load_profile(path)
            out.rankings.append(match_templates(profile, catalog, warnings=warnings, **space))
        except FactoryPilotError as exc:
            if "catalog is empty" in exc.message:  # the same for every firm: stop, say it once
                raise
            out.failures.append((path.name, str(exc)))
    return out


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_ranking(r: Ranking, lang: str, top: int) -> list[str]:
    p = r.profile
    lines = [f"## {p.name} ({p.id})", ""]
    conf = f"{t('conf', lang)}: {pct(r.confidence)}"
    if r.close_call:
        conf += f" — **{t('close', lang)}**"
    lines += [conf, "", f"| # | {t('template', lang)} | {t('score', lang)} | {t('why', lang)} |",
              "|---|---|---|---|"]
    for i, m in enumerate(r.matches[:top], 1):
        ref = f" ({t('reference', lang)})" if m.entry.reference else ""
        why = "<br>".join(_md(x) for x in m.explain(lang))
        lines.append(f"| {i} | `{m.entry.id}`{ref}<br>{_md(m.entry.title(lang))} | {m.score:.2f} | {why} |")
    if r.decide:
        lines += ["", f"**{t('decide', lang)}:**", *[f"- {d.get(lang) or d['en']}" for d in r.decide]]
    if r.warnings:
        lines += ["", f"{t('warnings', lang)}:", *[f"- {w}" for w in r.warnings]]
    return [*lines, ""]


def summary_rows(pm: ProgrammeMatch, lang: str) -> list[list[str]]:
    rows = []
    for r in pm.rankings:
        second = r.matches[1].entry.id if len(r.matches) > 1 else "-"
        rows.append([f"{r.profile.name} ({r.profile.id})", r.best.entry.id, pct(r.confidence),
                     t("yes" if r.close_call else "no", lang), second])
    return rows


def render_markdown(pm: ProgrammeMatch, lang: str, *, top: int = 4) -> str:
    lines = [f"# {t('title', lang)}", ""]
    for r in pm.rankings:
        lines += render_ranking(r, lang, top)
    if len(pm.rankings) > 1 or pm.failures:
        lines += [f"## {t('summary', lang)}", "",
                  f"| {t('firm', lang)} | {t('start', lang)} | {t('conf', lang)} | {t('close', lang)} | "
                  f"{t('second', lang)} |", "|---|---|---|---|---|"]
        lines += [f"| {' | '.join(_md(c) for c in row)} |" for row in summary_rows(pm, lang)]
    if pm.failures:
        lines += ["", f"### {t('failed', lang)}", *[f"- `{f}`: {_md(e)}" for f, e in pm.failures]]
    return "\n".join(lines).rstrip() + "\n"


def to_json(pm: ProgrammeMatch, lang: str, *, top: int = 4) -> dict[str, Any]:
    firms = []
    for r in pm.rankings:
        d = r.to_dict(lang)
        d["ranking"] = d["ranking"][:top]
        firms.append(d)
    return {"firms": firms,
            "summary": [{"firm": r.profile.id, "start_with": r.best.entry.id, "confidence": round(r.confidence, 3),
                         "close_call": r.close_call,
                         "second": r.matches[1].entry.id if len(r.matches) > 1 else None} for r in pm.rankings],
            "failures": [{"file": f, "error": e} for f, e in pm.failures]}
