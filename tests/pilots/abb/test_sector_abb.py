"""The ABB reference pilot against its own scenarios and gate (real simulator, OPC-UA, SQLite)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from factorypilot.pilots.evaluation._report import to_markdown
from factorypilot.pilots.evaluation.harness import EvalReport, evaluate, load_scenarios
from factorypilot.pilots.runtime import resolve_spec

SCENARIOS = ["weld-quality-escape", "quality-escape-rejected", "press-force-drift", "leak-spike-clears",
             "normal-run", "comms-drop", "stuck-force-sensor", "plant-alarm-weld-coolant",
             # the LLM planner's scenarios (judgement beyond the playbook, injected text); the playbook passes them too
             "llm-leak-with-weld-drift", "llm-screw-torque-drift", "llm-injection"]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> EvalReport:
    return evaluate("abb", home=tmp_path_factory.mktemp("abb"), knowledge=False, plots=False, lang="en")


def test_spec_lists_its_scenarios() -> None:
    spec, path = resolve_spec("abb")
    assert spec.sector == "abb"
    assert [s.id for s in load_scenarios(spec, path)] == SCENARIOS


def test_passes_its_own_gate(report: EvalReport) -> None:
    assert report.gate_failures == []
    agg = report.aggregate
    assert (agg.detection_rate, agg.false_alarms, agg.safety_violations, agg.unverified_done) == (1.0, 0, 0, 0)
    assert agg.action_correctness == 1.0
    assert agg.kpi_improvement["scrap_rate"] > 0


@pytest.mark.parametrize("scenario_id", SCENARIOS)
def test_each_scenario_meets_its_expectation(report: EvalReport, scenario_id: str,
                                               scenario_met: Callable[[EvalReport, str], None]) -> None:
    scenario_met(report, scenario_id)


def test_quality_escape_is_caught_at_the_leak_test_and_cured_upstream(report: EvalReport) -> None:
    s = report.scenario("weld-quality-escape")
    assert s.playbook == "quality-escape-leak"
    assert [(role, v) for _, role, v in s.writes] == [("weld_current_setpoint", 190.0)]
    assert s.approvals_requested == 1
    assert s.kpi_agent["scrap_rate"] < s.kpi_baseline["scrap_rate"]


def test_rejected_change_is_not_written(report: EvalReport) -> None:
    s = report.scenario("quality-escape-rejected")
    assert s.detected
    assert s.writes == []
    assert s.approvals_requested == 1
    assert s.kpi_agent["scrap_rate"] == s.kpi_baseline["scrap_rate"]


def test_comms_drop_is_a_gap(report: EvalReport) -> None:
    assert report.scenario("comms-drop").gaps == 10


def test_report_renders_in_korean(report: EvalReport) -> None:
    ko = to_markdown(dataclasses.replace(report, lang="ko"))
    assert "용접 전류 저하, 리크 시험에서 검출" in ko
