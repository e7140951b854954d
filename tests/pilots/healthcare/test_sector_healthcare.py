"""The healthcare reference pilot against its own scenarios and gate (real simulator, OPC-UA, SQLite)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from factorypilot.agents import Ledger, RunStore
from factorypilot.pilots.evaluation._report import to_markdown
from factorypilot.pilots.evaluation.harness import EvalReport, evaluate, load_scenarios
from factorypilot.pilots.runtime import resolve_spec
from factorypilot.pilots.simulator import Fault, FaultKind, PlantSimulator

SCENARIOS = ["particle-excursion", "pressure-loss", "temperature-excursion", "seal-temperature-deviation",
             "particle-spike-clears", "normal-run", "stuck-pressure-sensor",
             "plant-alarm-hepa-filter",
             # the LLM planner's scenarios (judgement beyond the playbook, injected text); the playbook passes them too
             "llm-particles-with-pressure-loss", "llm-temperature-and-humidity", "llm-injection"]


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
    # every detected excursion (the frozen sensor note, the BMS alarm) asked once: 6 in the sector scenarios,
    # 4 in the three LLM scenarios (llm-injection asks twice)
    assert agg.approvals_requested == 10
    assert report.scenario("llm-injection").approvals_requested == 2


@pytest.mark.parametrize("scenario_id", SCENARIOS)
def test_each_scenario_meets_its_expectation(report: EvalReport, scenario_id: str,
                                               scenario_met: Callable[[EvalReport, str], None]) -> None:
    scenario_met(report, scenario_id)
    s = report.scenario(scenario_id)
    if not s.expect_detect:
        assert s.approvals_requested == 0


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
    # each action: its intent (planned, issued) on the ledger before the plant or the store is touched
    assert kinds == ["observation", "detection", "decision", "approval-requested", "approval",
                     "intent", "intent", "action", "intent", "intent", "action", "read-back", "read-back", "report"]
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


def test_gmp_deviation_report_from_the_ledger(report: EvalReport) -> None:
    from factorypilot.pilots.healthcare.gmp import deviation_report

    with Ledger(report.out_dir / "runs" / "particle-excursion" / "ledger.sqlite") as ledger:
        run_id = next(r.run_id for r in ledger.records(kind="report"))
        en = deviation_report(ledger, run_id)
        ko = deviation_report(ledger, run_id, lang="ko")
        n_records = len(ledger.records(run_id=run_id))
    assert en.startswith("# GMP deviation report")
    assert "**approve** (by eval-harness" in en
    assert "hvac_fan_setpoint` = 75.0: executed; read-back: done" in en
    assert "note `deviation`: executed; read-back: done" in en
    assert en.count("\n| ") == n_records + 1  # header + one row per ledger record of the run
    assert "The ledger chain verifies" in en
    assert "# GMP 일탈 보고서" in ko
    assert "원장 체인 검증 완료" in ko


def test_gmp_report_shows_a_broken_chain(report: EvalReport, tmp_path: Path) -> None:
    import shutil
    import sqlite3

    from factorypilot.pilots.healthcare.gmp import deviation_report

    src = report.out_dir / "runs" / "pressure-loss"
    shutil.copy(src / "ledger.sqlite", tmp_path / "ledger.sqlite")
    shutil.copy(src / "ledger.head", tmp_path / "ledger.head")
    db = sqlite3.connect(tmp_path / "ledger.sqlite")
    db.execute("UPDATE ledger SET payload = replace(payload, 'approve', 'reject') WHERE kind = 'approval'")
    db.commit()
    db.close()
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        run_id = next(r.run_id for r in ledger.records(kind="report"))
        text = deviation_report(ledger, run_id)
    assert "does NOT verify" in text
    assert "was edited" in text


def test_batch_record_deviations_from_the_mes_export(tmp_path: Path) -> None:
    from factorypilot.errors import DataError
    from factorypilot.pilots.healthcare.gmp import batch_deviations

    sample = Path(__file__).resolve().parents[3] / "pilots" / "healthcare" / "mes" / "healthcare-batch-record.csv"
    events = batch_deviations(sample)
    assert [(e.tag_id, e.role, e.kind) for e in events] == [
        ("batch:B260105-01", "seal_temperature", "deviation"), ("batch:B260105-02", "particles_0_5um", "deviation")]
    cp949 = tmp_path / "batch.csv"
    cp949.write_bytes("배치번호,실링온도_최소,실링온도_최대,미립자0.5_최대,차압_최소,일탈\n"
                      "B1,145,146,100000,9.5,없음\nB2,145,146,100000,15,포장재 라벨 누락\n".encode("cp949"))
    found = batch_deviations(cp949)
    assert [(e.tag_id, e.role) for e in found] == [("batch:B1", "differential_pressure"), ("batch:B2", "batch_record")]
    assert "포장재 라벨 누락" in found[1].message
    bad = tmp_path / "bad.csv"
    bad.write_text("배치번호,실링온도_최소,실링온도_최대,미립자0.5_최대,차압_최소,일탈\nB1,abc,146,1,15,없음\n",
                   encoding="utf-8")
    with pytest.raises(DataError) as err:
        batch_deviations(bad)
    assert (err.value.row, err.value.column) == (2, "실링온도_최소")


def test_eval_report_carries_the_gmp_section_the_sector_declares(report: EvalReport) -> None:
    """Healthcare declares a report section (SectorPilot.report_sections): one GMP deviation record per agent run."""
    assert len(report.sections) == 1
    section = report.sections[0]
    assert section.startswith("## GMP deviation records (one per agent run)")
    markdown = report.files["markdown"].read_text(encoding="utf-8")
    assert section.rstrip() in markdown
    acted = [s for s in report.scores if s.runs]
    assert acted
    assert section.count("\n## GMP deviation report") == sum(s.runs for s in acted)
    assert "- **Playbook**: particle-excursion" in section
