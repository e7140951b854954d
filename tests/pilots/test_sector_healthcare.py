"""The healthcare reference pilot against its own scenarios and gate (real simulator, OPC-UA, SQLite)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from factorypilot.agents import Ledger, RunStore
from factorypilot.pilots._eval_report import to_markdown
from factorypilot.pilots.evaluate import EvalReport, evaluate, load_scenarios
from factorypilot.pilots.runtime import resolve_spec
from factorypilot.pilots.simulator import Fault, FaultKind, PlantSimulator

SCENARIOS = ["particle-excursion", "pressure-loss", "temperature-excursion", "seal-temperature-deviation",
             "particle-spike-clears", "normal-run"]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> EvalReport:
    return evaluate("healthcare", home=tmp_path_factory.mktemp("hc"), knowledge=False, plots=False, lang="en")


def test_spec_lists_its_scenarios_and_requires_approval_for_everything() -> None:
    spec, path = resolve_spec("healthcare")
    assert spec.sector == "healthcare"
    assert [s.id for s in load_scenarios(spec, path)] == SCENARIOS
    assert spec.policy.notes_need_approval
    assert all(rule.approval == "always" for rule in spec.policy.tags)


def test_passes_its_own_gate(report: EvalReport) -> None:
    assert report.gate_failures == []
    agg = report.aggregate
    assert (agg.detection_rate, agg.false_alarms, agg.safety_violations, agg.unverified_done) == (1.0, 0, 0, 0)
    assert agg.action_correctness == 1.0
    assert agg.approvals_requested == 4  # every detected excursion asked a person once


@pytest.mark.parametrize("scenario_id", SCENARIOS)
def test_each_scenario_meets_its_expectation(report: EvalReport, scenario_id: str) -> None:
    s = report.scenario(scenario_id)
    assert s.problems == []
    assert s.detected is s.expect_detect
    assert s.safety_violations == []
    assert s.unverified_done == []
    assert s.ledger_ok
    if not s.expect_detect:
        assert (s.writes, s.runs, s.approvals_requested) == ([], 0, 0)


def test_particle_excursion_raises_the_fan_once_and_shortens_the_hold(report: EvalReport) -> None:
    s = report.scenario("particle-excursion")
    assert s.playbook == "particle-excursion"
    assert [(role, v) for _, role, v in s.writes] == [("hvac_fan_setpoint", 75.0)]
    assert s.kpi_baseline["downtime"] > s.kpi_agent["downtime"]
    assert s.kpi_improvement["oee"] > 0


def test_deviation_report_has_a_full_audit_trail(report: EvalReport) -> None:
    home = report.out_dir / "runs" / "particle-excursion"
    with Ledger(home / "ledger.sqlite") as ledger:
        assert ledger.verify().ok
        run_id = next(r.run_id for r in ledger.records(kind="report"))
        kinds = [r.kind for r in ledger.records(run_id=run_id)]
        approval = ledger.records(run_id=run_id, kind="approval")[0].payload
    assert kinds == ["observation", "detection", "decision", "approval-requested", "approval", "action", "action",
                     "read-back", "read-back", "report"]
    assert approval["by"] == "eval-harness"
    assert approval["decision"] == "approve"
    store = RunStore(home / "agent.sqlite")
    try:
        notes = [n for n in store.notes() if n["run_id"] == run_id]
    finally:
        store.close()
    assert [n["topic"] for n in notes] == ["deviation"]
    assert "GMP" in notes[0]["text"]


def test_report_renders_in_both_languages(report: EvalReport) -> None:
    en = to_markdown(report)
    ko = to_markdown(dataclasses.replace(report, lang="ko"))
    assert "Particle excursion from a contamination source" in en
    assert "오염원에 의한 미립자 기준 초과" in ko
    assert "탐지율" in ko


async def test_fan_speed_clears_particles_and_the_line_holds_meanwhile() -> None:
    async with PlantSimulator("healthcare", seed=1, realtime=False) as sim:
        sim.inject(Fault(FaultKind.DRIFT, "particles_0_5um", magnitude=0.1, duration_ticks=25))
        await sim.step(25)
        assert sim.value("particles_0_5um") > 352_000  # type: ignore[operator]
        assert sim.value("line_state") == "HOLD"
        sim.engine.apply_write("hvac_fan_setpoint", 95.0)
        await sim.step(6)
        assert sim.value("particles_0_5um") < 352_000  # type: ignore[operator]
        assert sim.value("line_state") == "RUN"


def test_model_is_deterministic_given_a_seed(tmp_path: Path) -> None:
    def run() -> list[object]:
        sim = PlantSimulator("healthcare", seed=4, realtime=False)
        sim.inject(Fault(FaultKind.DRIFT, "seal_temperature", magnitude=0.5))
        out = []
        for _ in range(30):
            sim.engine.tick()
            out.append(dict(sim.engine.published))
        return out

    first = run()
    assert first == run()
    assert first[-1]["scrap_count"] > 0  # sealed outside 140–150 °C → rejected (batch-record deviation)
