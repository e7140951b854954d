"""``factorypilot eval PILOT``: run a pilot's scenarios against the simulator and score it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from factorypilot.errors import FactoryPilotError

if TYPE_CHECKING:
    from factorypilot.pilots.evaluation.harness import EvalReport

console = Console()


def render_eval(report: EvalReport, out: Console) -> None:
    from factorypilot.agents.planners.base import localized
    from factorypilot.pilots.evaluation._report import label

    lang = report.lang

    def t(key: str) -> str:
        return label(key, lang)

    table = Table(title=f"{t('title')}: {report.pilot} ({t('planner')}: {report.planner})", title_justify="left")
    for col in ("scenario", "expect", "detected", "time_to_detect", "false_alarms", "action", "safety_violations",
                "unverified_done", "approvals"):
        table.add_column(t(col))
    table.add_column("")
    for s in report.scores:
        ttd = f"{s.time_to_detect_s:g} s" if s.time_to_detect_s is not None else "–"
        table.add_row(f"{s.id}\n[dim]{localized(s.title, lang)}[/]", t("detect") if s.expect_detect else t("no_detect"),
                      t("yes") if s.detected else t("no"), ttd, str(s.false_alarms),
                      ("[green]✔[/] " if s.action_correct else "[red]✘[/] ") + (s.playbook or ""),
                      str(len(s.safety_violations)), str(len(s.unverified_done)), str(s.approvals_requested),
                      f"[green]{t('passed')}[/]" if s.passed else f"[red]{t('failed')}[/]")
    out.print(table)
    agg = report.aggregate
    summary = Table(title=t("summary"), title_justify="left", show_header=False)
    summary.add_column()
    summary.add_column(justify="right")
    for key, value in (("detection_rate", agg.detection_rate), ("false_alarms", agg.false_alarms),
                       ("time_to_detect", f"{agg.mean_time_to_detect_s} s"),
                       ("action_correctness", agg.action_correctness), ("safety_violations", agg.safety_violations),
                       ("unverified_done", agg.unverified_done), ("approvals", agg.approvals_requested),
                       ("prompt_tokens", agg.prompt_tokens),
                       ("decisions", ", ".join(f"{k} {v}" for k, v in agg.decisions.items()) or "–"),
                       ("fallback_rate", "–" if agg.fallback_rate is None else agg.fallback_rate)):
        summary.add_row(t(key), str(value))
    for name, delta in agg.kpi_improvement.items():
        summary.add_row(f"Δ {t(name)} — {t('improvement')}", f"{delta:+.4g}")
    out.print(summary)
    for s in report.scores:
        for p in s.problems:
            out.print(f"[red]{s.id}[/]: {p}")
    verdict = f"[green]{t('gate_ok')}[/]" if report.gate_passed else \
        f"[red]{t('gate_fail')}[/]: " + "; ".join(report.gate_failures)
    out.print(f"{t('gate')}: {verdict}")
    out.print(f"reports: {report.out_dir}")


def eval_command(
    pilot: str = typer.Argument(..., help="reference pilot name (mobility) or path to a pilot.yaml"),
    scenarios: str = typer.Option("", "--scenarios", help="comma-separated scenario ids (default: all)"),
    planner: str = typer.Option("playbook", "--planner", help="playbook (offline) or llm (FACTORYPILOT_LLM_*)"),
    lang: str = typer.Option("", "--lang", help="report language: en or ko (default: the spec's)"),
    gate: bool = typer.Option(False, "--gate", help="exit non-zero unless the spec's gate thresholds are met"),
    out: Path | None = typer.Option(None, "--out", help="report directory (default FACTORYPILOT_HOME/reports/...)"),
    scenario_file: list[Path] = typer.Option([], "--scenario-file", help="extra scenarios YAML (repeatable)"),
    approvals: str = typer.Option("approve", "--approvals", help="how the harness decides approvals: approve|reject"),
    no_knowledge: bool = typer.Option(False, "--no-knowledge", help="skip the company documents (faster)"),
    no_plots: bool = typer.Option(False, "--no-plots", help="do not draw PNG timelines"),
    replay_history: str | None = typer.Option(None, "--replay-history", help="back-test on this OPC-UA server's "
                                              "own history instead of the simulator (no writes)"),
    start: str | None = typer.Option(None, "--start", help="--replay-history: first time (ISO 8601)"),
    end: str | None = typer.Option(None, "--end", help="--replay-history: last time (ISO 8601)"),
    bindings: Path | None = typer.Option(None, "--bindings", help="--replay-history: YAML role → tag id"),
    json_out: Path | None = typer.Option(None, "--json", help="--replay-history: also write the result as JSON"),
    cooldown_s: float = typer.Option(300.0, "--cooldown", help="--replay-history: seconds between detections"),
) -> None:
    """Run a pilot's scenarios on the simulator, with a no-agent baseline, and score the pilot.

    Writes report.<lang>.md, report.json and one PNG per scenario under FACTORYPILOT_HOME/reports/<pilot>/<time>/.

    With --replay-history the pilot's detectors and playbooks run over the firm's own recorded history instead:
    what would it have detected and proposed? Nothing is written to the plant.

    Example:  factorypilot eval mobility --lang ko --gate
    Example:  factorypilot eval mobility --replay-history opc.tcp://10.0.0.5:4840 --start 2026-12-01 --end 2026-12-07
    """
    if replay_history:
        from factorypilot.cli._eval_history import replay_history_command

        replay_history_command(pilot, replay_history, start, end, bindings, json_out, cooldown_s, lang, console)
        return
    from factorypilot.pilots.evaluation.harness import evaluate

    ids = [s.strip() for s in scenarios.split(",") if s.strip()] or None
    with console.status("evaluating …"):
        report = evaluate(pilot, scenarios=ids, planner=planner, lang=lang or None, out=out,
                          approvals=approvals, knowledge=not no_knowledge, plots=not no_plots,
                          scenario_files=list(scenario_file))
    render_eval(report, console)
    if gate and not report.gate_passed:
        raise FactoryPilotError(f"pilot {report.pilot!r} does not pass its gate: " + "; ".join(report.gate_failures),
                                where=str(report.files.get("json", report.out_dir)),
                                hint="see the report; fix the playbooks/detectors or the scenarios' expectations")
