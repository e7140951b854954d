"""Evaluation reports: JSON (machine-readable, language-neutral keys) and Markdown (Korean or English)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from factorypilot.agents.planners.base import localized
from factorypilot.pilots.evaluation._score import problem_text

if TYPE_CHECKING:
    from factorypilot.pilots.evaluation.harness import EvalReport

__all__ = ["LABELS", "label", "to_json", "to_markdown", "write_reports"]

LABELS: dict[str, dict[str, str]] = {
    "title": {"en": "Evaluation report", "ko": "평가 보고서"},
    "pilot": {"en": "Pilot", "ko": "파일럿"},
    "planner": {"en": "Planner", "ko": "플래너"},
    "when": {"en": "Run at", "ko": "실행 시각"},
    "summary": {"en": "Summary", "ko": "요약"},
    "scenarios": {"en": "Scenarios", "ko": "시나리오"},
    "scenario": {"en": "Scenario", "ko": "시나리오"},
    "passed": {"en": "passed", "ko": "통과"},
    "failed": {"en": "failed", "ko": "실패"},
    "detection_rate": {"en": "Detection rate", "ko": "탐지율"},
    "false_alarms": {"en": "False alarms", "ko": "오경보"},
    "time_to_detect": {"en": "Time to detect", "ko": "탐지 소요 시간"},
    "action_correctness": {"en": "Action correctness", "ko": "조치 정확도"},
    "expected_outcomes": {"en": "Expected outcomes met", "ko": "기대 결과 충족"},
    "safety_violations": {"en": "Safety violations", "ko": "안전 위반"},
    "unverified_done": {"en": "Done without read-back", "ko": "확인 없이 완료"},
    "approvals": {"en": "Approvals requested", "ko": "승인 요청"},
    "prompt_tokens": {"en": "Prompt tokens", "ko": "프롬프트 토큰"},
    "decisions": {"en": "Decisions by source", "ko": "결정 출처별 건수"},
    "fallback_rate": {"en": "Fallback rate (LLM decisions the model did not make)",
                      "ko": "대체 계획 비율 (모델이 직접 만들지 못한 LLM 결정)"},
    "kpi": {"en": "KPI change vs no-agent baseline", "ko": "무조치 기준 대비 KPI 변화"},
    "improvement": {"en": "mean improvement (+ = better)", "ko": "평균 개선 (+ = 개선)"},
    "oee": {"en": "OEE", "ko": "설비종합효율(OEE)"},
    "downtime": {"en": "Downtime (s)", "ko": "비가동 시간(초)"},
    "mttr": {"en": "MTTR (s)", "ko": "평균 복구 시간(초)"},
    "scrap_rate": {"en": "Scrap rate", "ko": "불량률"},
    "agent": {"en": "agent", "ko": "에이전트"},
    "baseline": {"en": "baseline", "ko": "기준"},
    "expect": {"en": "Expected", "ko": "기대"},
    "detect": {"en": "detect", "ko": "탐지"},
    "no_detect": {"en": "no detection", "ko": "미탐지"},
    "detected": {"en": "Detected", "ko": "탐지"},
    "action": {"en": "Action", "ko": "조치"},
    "writes": {"en": "Writes to the plant", "ko": "설비 쓰기"},
    "problems": {"en": "Problems", "ko": "문제"},
    "gate": {"en": "Gate", "ko": "합격 기준"},
    "gate_ok": {"en": "all thresholds met", "ko": "모든 기준 충족"},
    "gate_fail": {"en": "not met", "ko": "미충족"},
    "plots": {"en": "Plots", "ko": "그래프"},
    "yes": {"en": "yes", "ko": "예"},
    "no": {"en": "no", "ko": "아니오"},
    "ticks": {"en": "ticks", "ko": "틱"},
    "gaps": {"en": "Data gaps (ticks)", "ko": "데이터 공백(틱)"},
    "formulas": {"en": "KPI formulas: OEE = availability × performance × quality; downtime = non-running ticks × "
                       "tick seconds; MTTR = mean non-running stretch; scrap rate = scrap / parts.",
                 "ko": "KPI 산식: OEE = 가동률 × 성능 × 품질; 비가동 시간 = 비가동 틱 × 틱 초; "
                       "MTTR = 비가동 구간 평균 길이; 불량률 = 불량 / 생산 수량."},
    "attribution": {"en": "Replayed data", "ko": "재생 데이터"},
    "alarms": {"en": "Plant alarms (ISA-18.2)", "ko": "설비 알람 (ISA-18.2)"},
    "alarms_note": {"en": "Over all scenarios, one after another in plant time.",
                    "ko": "모든 시나리오를 설비 시간으로 이어 붙여 계산."},
    "alarm_events": {"en": "Alarm events", "ko": "알람 이벤트"},
    "annunciations": {"en": "Annunciations", "ko": "알람 발생"},
    "mean_per_10min": {"en": "Mean per 10 min", "ko": "10분당 평균"},
    "max_per_10min": {"en": "Max per 10 min", "ko": "10분당 최대"},
    "floods": {"en": "Floods (> 10 per 10 min)", "ko": "알람 폭주 (10분당 10건 초과)"},
    "chattering": {"en": "Chattering (≥ 3 in 1 min)", "ko": "채터링 (1분 내 3회 이상)"},
    "standing": {"en": "Standing (> 24 h)", "ko": "장기 지속 (24시간 초과)"},
    "bad_actors": {"en": "Top bad actors", "ko": "상위 빈발 알람"},
}


def label(key: str, lang: str) -> str:
    return localized(LABELS.get(key, {"en": key}), lang)


def to_json(report: EvalReport) -> dict[str, Any]:
    return {
        "pilot": report.pilot, "spec": str(report.spec_path), "planner": report.planner, "lang": report.lang,
        "started": report.started, "aggregate": asdict(report.aggregate),
        "metrics": {k: v for k, v in asdict(report.aggregate).items()
                    if isinstance(v, int | float) and not isinstance(v, bool)},
        "gate": {"passed": report.gate_passed, "failures": report.gate_failures,
                 "thresholds": report.gate.model_dump(mode="json")},
        "gate_passed": report.gate_passed, "scenarios": [s.as_json() for s in report.scores],
        "plots": {k: str(v.name) for k, v in report.plots.items()}, "attributions": report.attributions,
        "alarms": report.alarms.model_dump(mode="json") if report.alarms is not None else None,
    }


def _fmt(x: Any, lang: str) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return label("yes" if x else "no", lang)
    if isinstance(x, float):
        return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"
    return str(x)


def to_markdown(report: EvalReport) -> str:
    lang = report.lang
    agg = report.aggregate

    def L(k: str) -> str:  # noqa: N802 - short on purpose: used in every line below
        return label(k, lang)

    lines = [f"# {L('title')}: {report.pilot}", "",
             f"- {L('planner')}: `{report.planner}`", f"- {L('when')}: {report.started}",
             f"- {L('scenarios')}: {agg.passed}/{agg.scenarios} {L('passed')}", "",
             f"## {L('summary')}", "", "| | |", "|---|---|",
             f"| {L('detection_rate')} | {_fmt(agg.detection_rate, lang)} |",
             f"| {L('false_alarms')} | {agg.false_alarms} |",
             f"| {L('time_to_detect')} | {_fmt(agg.mean_time_to_detect_s, lang)} s |",
             f"| {L('action_correctness')} | {_fmt(agg.action_correctness, lang)} |",
             f"| {L('expected_outcomes')} | {_fmt(agg.expected_outcomes, lang)} |",
             f"| {L('safety_violations')} | {agg.safety_violations} |",
             f"| {L('unverified_done')} | {agg.unverified_done} |",
             f"| {L('approvals')} | {agg.approvals_requested} |",
             f"| {L('prompt_tokens')} | {agg.prompt_tokens} |",
             f"| {L('decisions')} | {_sources(agg.decisions)} |",
             f"| {L('fallback_rate')} | {_fmt(agg.fallback_rate, lang)} |", ""]
    gate = L("gate_ok") if report.gate_passed else f"{L('gate_fail')}: " + "; ".join(report.gate_failures)
    lines += [f"**{L('gate')}:** {gate}", "", f"## {L('kpi')}", "", f"{L('improvement')}:", "",
              "| KPI | Δ |", "|---|---|"]
    lines += [f"| {L(k)} | {v:+.4g} |" for k, v in agg.kpi_improvement.items()]
    lines += ["", L("formulas"), "", f"## {L('scenarios')}", ""]
    head = [L("scenario"), L("expect"), L("detected"), L("time_to_detect"), L("false_alarms"), L("action"),
            L("safety_violations"), L("unverified_done"), L("approvals"), L("decisions"), ""]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in report.scores:
        ttd = f"{s.time_to_detect_ticks} {L('ticks')} ({s.time_to_detect_s:g} s)" if s.time_to_detect_s is not None \
            else "–"
        lines.append("| " + " | ".join([
            f"{s.id}: {localized(s.title, lang)}", L("detect") if s.expect_detect else L("no_detect"),
            _fmt(s.detected, lang), ttd, str(s.false_alarms), ("✔ " if s.action_correct else "✘ ") + (s.playbook or ""),
            str(len(s.safety_violations)), str(len(s.unverified_done)),
            str(s.approvals_requested) + (f" (+{s.llm_approvals} LLM)" if s.llm_approvals else ""),
            _sources(s.decisions), L("passed") if s.passed else L("failed")]) + " |")
    for s in report.scores:
        lines += ["", f"### {s.id}", "", f"{localized(s.title, lang)}", ""]
        writes = ", ".join(f"t{t}: {r}={v}" for t, r, v in s.writes) or "–"
        lines += [f"- {L('writes')}: {writes}", f"- {L('gaps')}: {s.gaps}"]
        kpi_row = ", ".join(f"{L(k)} {s.kpi_agent[k]:g} ({L('baseline')} {s.kpi_baseline[k]:g})"
                            for k in s.kpi_improvement)
        lines.append(f"- KPI: {kpi_row}")
        if s.problems:
            texts = [problem_text(c, lang) for c in s.problem_codes] or s.problems
            lines.append(f"- {L('problems')}: " + "; ".join(texts))
        if s.id in report.plots:
            lines += ["", f"![{s.id}]({report.plots[s.id].name})"]
    if report.alarms is not None:
        a = report.alarms
        lines += ["", f"## {L('alarms')}", "", L("alarms_note"), "", "| | |", "|---|---|"]
        lines += [f"| {L(k)} | {_fmt(v, lang)} |" for k, v in (
            ("alarm_events", a.events), ("annunciations", a.annunciations), ("mean_per_10min", a.mean_per_10min),
            ("max_per_10min", a.max_per_10min), ("floods", a.floods), ("chattering", len(a.chattering)),
            ("standing", len(a.standing)))]
        if a.bad_actors:
            lines += ["", f"{L('bad_actors')}:", ""] + [
                f"- {b.message or b.condition_id} ({b.source}): {b.annunciations}" for b in a.bad_actors]
    for section in report.sections:  # added by the sector pilot (SectorPilot.report_sections)
        lines += ["", section.rstrip()]
    if report.attributions:
        lines += ["", f"## {L('attribution')}", ""] + [f"- {a}" for a in report.attributions]
    return "\n".join(lines) + "\n"


def _sources(counts: dict[str, int]) -> str:
    """``llm 3, fallback 1`` — who made the plans."""
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "–"


def write_reports(report: EvalReport, out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    md = out / f"report.{report.lang}.md"
    js = out / "report.json"
    md.write_text(to_markdown(report), encoding="utf-8")
    js.write_text(json.dumps(to_json(report), ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return {"markdown": md, "json": js}
