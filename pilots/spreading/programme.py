"""Programme KPIs: baseline vs current across every firm that deployed a template.

Each project keeps ``kpis.yaml`` (``baseline`` and ``current`` maps; ``programme record`` writes them);
approvals and actions are counted from the project's audit ledger. ``programme report`` aggregates: firms,
deployed solutions, and per KPI the mean change vs baseline — with the right sign per KPI (OEE and
productivity up is better; downtime, scrap rate and MTTR down is better) — as Markdown/JSON (ko/en) and a
bar chart (matplotlib, PNG).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from factorypilot.errors import ConfigError
from factorypilot.pilots.spreading._project import Project

__all__ = [
    "HIGHER_IS_BETTER",
    "Deployment",
    "KpiSummary",
    "ProgrammeReport",
    "collect",
    "record_kpis",
    "report",
    "write_report",
]

HIGHER_IS_BETTER: dict[str, bool] = {"productivity": True, "oee": True, "downtime": False, "scrap_rate": False,
                                     "mttr": False}
_LABELS: dict[str, dict[str, str]] = {
    "title": {"en": "Programme report", "ko": "사업 성과 보고서"},
    "firms": {"en": "Firms", "ko": "참여 기업 수"},
    "solutions": {"en": "Deployed solutions", "ko": "보급 솔루션 수"},
    "deployments": {"en": "Deployments", "ko": "도입 건수"},
    "kpi": {"en": "KPI", "ko": "지표"}, "n": {"en": "firms", "ko": "기업"},
    "baseline": {"en": "baseline (mean)", "ko": "도입 전 (평균)"},
    "current": {"en": "current (mean)", "ko": "현재 (평균)"},
    "change": {"en": "change vs baseline", "ko": "도입 전 대비 변화"},
    "better": {"en": "improved", "ko": "개선"}, "worse": {"en": "worse", "ko": "악화"},
    "firm": {"en": "Firm", "ko": "기업"}, "template": {"en": "Template", "ko": "템플릿"},
    "writes": {"en": "writes", "ko": "쓰기"}, "approvals": {"en": "approvals", "ko": "승인"},
    "actions": {"en": "actions", "ko": "조치"}, "on": {"en": "enabled", "ko": "허용"},
    "off": {"en": "read-only", "ko": "읽기 전용"},
    "productivity": {"en": "productivity", "ko": "생산성"}, "oee": {"en": "OEE", "ko": "설비종합효율"},
    "downtime": {"en": "downtime", "ko": "비가동 시간"}, "scrap_rate": {"en": "scrap rate", "ko": "불량률"},
    "mttr": {"en": "MTTR", "ko": "평균 수리 시간"},
}


def _l(key: str, lang: str) -> str:
    return _LABELS.get(key, {}).get(lang) or _LABELS.get(key, {}).get("en") or key


def record_kpis(project: Project, *, baseline: Mapping[str, float] | None = None,
                current: Mapping[str, float] | None = None) -> dict[str, dict[str, float]]:
    """Merge KPI values into the project's ``kpis.yaml`` and return its content."""
    path = project.root / "kpis.yaml"
    data = (yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None) or {}
    for key, values in (("baseline", baseline), ("current", current)):
        section = dict(data.get(key) or {})
        section.update({k: float(v) for k, v in (values or {}).items()})
        data[key] = section
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=True), encoding="utf-8")
    return {k: dict(v) for k, v in data.items() if k in ("baseline", "current")}


@dataclass
class Deployment:
    company: str
    template: str
    sector: str
    writes_enabled: bool
    baseline: dict[str, float]
    current: dict[str, float]
    approvals: int = 0
    actions: int = 0
    path: str = ""


def _deployment(project: Project) -> Deployment:
    info = project.info
    path = project.root / "kpis.yaml"
    data = (yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None) or {}
    approvals = actions = 0
    if (project.home / "ledger.sqlite").exists():
        with project.ledger() as ledger:
            approvals = len(ledger.records(kind="approval"))
            actions = len(ledger.records(kind="action"))
    return Deployment(company=str(info.get("company", project.root.name)), template=str(info.get("template")),
                      sector=str(info.get("sector", "")), writes_enabled=project.writes_enabled(),
                      baseline={k: float(v) for k, v in (data.get("baseline") or {}).items()},
                      current={k: float(v) for k, v in (data.get("current") or {}).items()},
                      approvals=approvals, actions=actions, path=str(project.root))


def collect(roots: Iterable[Path]) -> list[Deployment]:
    """Deployments found in ``roots`` (each a project folder, or a folder of project folders)."""
    out: list[Deployment] = []
    for root in roots:
        root = Path(root)
        if (root / "project.yaml").is_file():
            out.append(_deployment(Project.open(root)))
        elif root.is_dir():
            out += [_deployment(Project.open(p.parent)) for p in sorted(root.glob("*/project.yaml"))]
        else:
            raise ConfigError(f"no project folder at {root}", hint="give project folders or their parent folder")
    return out


@dataclass
class KpiSummary:
    name: str
    firms: int
    baseline: float
    current: float
    change_pct: float
    improved: bool


@dataclass
class ProgrammeReport:
    firms: int
    solutions: int
    deployments: list[Deployment]
    kpis: list[KpiSummary] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"firms": self.firms, "solutions": self.solutions, "deployments": [asdict(d) for d in self.deployments],
                "kpis": [asdict(k) for k in self.kpis]}

    def to_markdown(self, lang: str = "en") -> str:
        lines = [f"# {_l('title', lang)}", "", f"- {_l('firms', lang)}: **{self.firms}**",
                 f"- {_l('solutions', lang)}: **{self.solutions}**",
                 f"- {_l('deployments', lang)}: **{len(self.deployments)}**", "",
                 f"| {_l('kpi', lang)} | {_l('n', lang)} | {_l('baseline', lang)} | {_l('current', lang)} | "
                 f"{_l('change', lang)} |", "|---|---:|---:|---:|---|"]
        for k in self.kpis:
            verdict = _l("better" if k.improved else "worse", lang)
            lines.append(f"| {_l(k.name, lang)} | {k.firms} | {k.baseline:.3g} | {k.current:.3g} | "
                         f"{k.change_pct:+.1f} % ({verdict}) |")
        lines += ["", f"| {_l('firm', lang)} | {_l('template', lang)} | {_l('writes', lang)} | "
                      f"{_l('approvals', lang)} | {_l('actions', lang)} |", "|---|---|---|---:|---:|"]
        for d in self.deployments:
            lines.append(f"| {d.company} | {d.template} | {_l('on' if d.writes_enabled else 'off', lang)} | "
                         f"{d.approvals} | {d.actions} |")
        return "\n".join(lines) + "\n"

    def chart(self, path: Path, lang: str = "en") -> Path:
        """A bar chart of the KPI change vs baseline (green = better), PNG."""
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt

        from factorypilot.pilots.evaluation._fonts import use_korean_font

        if lang == "ko" and not use_korean_font():  # no Hangul font at all: English labels, not empty boxes
            lang = "en"
        fig, ax = plt.subplots(figsize=(6, 3.2))
        names = [_l(k.name, lang) for k in self.kpis]
        values = [k.change_pct for k in self.kpis]
        ax.bar(names, values, color=["#2a9d8f" if k.improved else "#e76f51" for k in self.kpis])
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_ylabel(f"{_l('change', lang)} (%)")
        ax.set_title(f"{_l('title', lang)}: {self.firms} {_l('n', lang)}, {self.solutions} {_l('solutions', lang)}")
        fig.tight_layout()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return path


def report(deployments: list[Deployment]) -> ProgrammeReport:
    """Aggregate: per KPI the mean of baseline and current over firms that recorded both."""
    names = sorted({k for d in deployments for k in d.baseline if k in d.current},
                   key=lambda k: (list(HIGHER_IS_BETTER).index(k) if k in HIGHER_IS_BETTER else 99, k))
    kpis: list[KpiSummary] = []
    for name in names:
        pairs = [(d.baseline[name], d.current[name]) for d in deployments if name in d.baseline and name in d.current]
        base = sum(b for b, _ in pairs) / len(pairs)
        cur = sum(c for _, c in pairs) / len(pairs)
        change = (cur - base) / abs(base) * 100.0 if base else 0.0
        better = (cur >= base) if HIGHER_IS_BETTER.get(name, True) else (cur <= base)
        kpis.append(KpiSummary(name, len(pairs), base, cur, change, better))
    return ProgrammeReport(firms=len({d.company for d in deployments}),
                           solutions=len({d.template for d in deployments}), deployments=deployments, kpis=kpis)


def write_report(rep: ProgrammeReport, out: Path, *, lang: str = "en") -> dict[str, Path]:
    """``report.<lang>.md``, ``report.json`` and ``kpis.<lang>.png`` under ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    md = out / f"report.{lang}.md"
    md.write_text(rep.to_markdown(lang), encoding="utf-8")
    js = out / "report.json"
    js.write_text(json.dumps(rep.to_json(), ensure_ascii=False, indent=2), encoding="utf-8")
    return {"markdown": md, "json": js, "chart": rep.chart(out / f"kpis.{lang}.png", lang)}
