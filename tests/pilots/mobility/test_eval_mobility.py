"""The mobility reference pilot against its own scenarios and gate (real simulator, real OPC-UA, real SQLite)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from factorypilot.pilots.evaluation._report import to_markdown
from factorypilot.pilots.evaluation.harness import EvalReport, evaluate, load_scenarios
from factorypilot.pilots.runtime import resolve_spec

MOBILITY_SCENARIOS = ["vibration-drift", "temperature-rise", "temperature-spike-clears", "stuck-vibration-sensor",
                      "noisy-vibration", "normal-run", "comms-drop", "drift-through-comms-drop",
                      "plant-alarm-lubrication",
                      # the LLM planner's scenarios; the playbook passes them too
                      "llm-vibration-with-heat", "llm-steep-vibration", "llm-injection"]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> EvalReport:
    home = tmp_path_factory.mktemp("eval-home")
    return evaluate("mobility", home=home, knowledge=False, lang="en")


def test_mobility_has_its_scenarios() -> None:
    spec, path = resolve_spec("mobility")
    assert [s.id for s in load_scenarios(spec, path)] == MOBILITY_SCENARIOS


def test_mobility_passes_its_own_gate(report: EvalReport) -> None:
    assert report.gate_failures == []
    agg = report.aggregate
    assert agg.detection_rate == 1.0
    assert agg.false_alarms == 0
    assert agg.safety_violations == 0
    assert agg.unverified_done == 0
    assert agg.action_correctness == 1.0
    assert agg.prompt_tokens == 0  # playbook planner: no model


@pytest.mark.parametrize("scenario_id", MOBILITY_SCENARIOS)
def test_each_scenario_meets_its_expectation(report: EvalReport, scenario_id: str,
                                               scenario_met: Callable[[EvalReport, str], None]) -> None:
    scenario_met(report, scenario_id)
    assert report.scenario(scenario_id).false_alarms == 0


def test_vibration_drift_lowers_feed_within_policy(report: EvalReport) -> None:
    s = report.scenario("vibration-drift")
    assert s.playbook == "spindle-vibration-high"
    # the drift keeps growing, so after each cool-down the pilot looks again and lowers the feed by 15 more,
    # down to the playbook's floor of 60 (the policy's minimum), never by more than the policy's max step
    assert [(role, v) for _, role, v in s.writes] == [("feed_override", 85.0), ("feed_override", 70.0),
                                                      ("feed_override", 60.0)]
    assert s.time_to_detect_ticks is not None
    assert 0 < s.time_to_detect_ticks <= 40
    assert s.time_to_detect_s == pytest.approx(s.time_to_detect_ticks * 0.1)
    # without the agent the line alarms and stops; with it, it keeps running and scraps less
    assert s.kpi_baseline["downtime"] > 0
    assert s.kpi_agent["downtime"] == 0
    assert s.kpi_agent["scrap_rate"] < s.kpi_baseline["scrap_rate"]
    assert s.kpi_improvement["downtime"] == pytest.approx(s.kpi_baseline["downtime"])


def test_temperature_rise_uses_its_playbook(report: EvalReport) -> None:
    s = report.scenario("temperature-rise")
    assert s.playbook == "spindle-temperature-high"
    assert [v for _, _, v in s.writes] == [80.0, 60.0]  # alarm-severity playbook: -20 points while it persists


def test_comms_drop_is_a_gap_not_an_action(report: EvalReport) -> None:
    s = report.scenario("comms-drop")
    assert s.gaps == 20
    assert s.writes == []
    through = report.scenario("drift-through-comms-drop")
    assert through.gaps == 15
    assert through.detected
    assert min(through.detection_ticks) >= 40  # nothing seen while the server was down (ticks 25..39)


def test_reports_written_in_json_markdown_and_png(report: EvalReport) -> None:
    data = json.loads(report.files["json"].read_text(encoding="utf-8"))
    assert data["gate_passed"] is True
    assert data["gate"]["passed"] is True
    assert [s["id"] for s in data["scenarios"]] == MOBILITY_SCENARIOS
    assert data["metrics"]["detection_rate"] == 1.0
    assert report.files["markdown"].name == "report.en.md"
    md = report.files["markdown"].read_text(encoding="utf-8")
    assert "Detection rate" in md
    assert "Spindle vibration drift" in md
    for sid in MOBILITY_SCENARIOS:
        png = report.out_dir / f"{sid}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # every scenario kept its own audit trail
    assert (report.out_dir / "runs" / "vibration-drift" / "ledger.sqlite").exists()


def test_report_renders_in_korean(report: EvalReport) -> None:
    md = to_markdown(dataclasses.replace(report, lang="ko"))
    assert "평가 보고서" in md
    assert "탐지율" in md
    assert "주축 진동 점진 상승" in md
    assert "안전 위반" in md
    assert "Detection rate" not in md


def test_baseline_and_agent_share_the_plant_until_the_first_write(report: EvalReport, tmp_path: Path) -> None:
    again = evaluate("mobility", scenarios=["vibration-drift"], home=tmp_path, knowledge=False, plots=False)
    first, second = report.scenario("vibration-drift"), again.scenario("vibration-drift")
    assert second.writes == first.writes  # deterministic given the seed
    assert second.detection_ticks == first.detection_ticks
    assert second.kpi_agent == first.kpi_agent
    assert second.kpi_baseline == first.kpi_baseline


def test_template_export_reads_the_gate_verdict(report: EvalReport) -> None:
    from factorypilot.pilots.spreading.templates import gate_status

    home = report.out_dir.parents[2]  # <home>/reports/<pilot>/<timestamp>
    status = gate_status("mobility-cnc", home)
    assert status.passed
    assert status.report == report.files["json"]
    assert status.metrics["detection_rate"] == 1.0
