"""The robotics reference pilot against its own scenarios and gate, and its recovery steps over real OPC-UA."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from factorypilot.connectors.registry import create
from factorypilot.pilots.evaluation._report import to_markdown
from factorypilot.pilots.evaluation.harness import EvalReport, evaluate, load_scenarios
from factorypilot.pilots.runtime import resolve_spec
from factorypilot.pilots.simulator import Fault, FaultKind, PlantSimulator

SCENARIOS = ["collision-fault", "fault-reset-rejected", "joint-torque-rise", "cycle-time-drift",
             "torque-spike-clears", "normal-run", "stuck-torque-sensor"]
RESET = "ns=2;s=robotics.cell-01.robot-01.ResetFault"
HOME = "ns=2;s=robotics.cell-01.robot-01.MoveHome"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> EvalReport:
    return evaluate("robotics", home=tmp_path_factory.mktemp("rb"), knowledge=False, plots=False, lang="en")


def test_spec_lists_its_scenarios_and_recovery_needs_approval() -> None:
    spec, path = resolve_spec("robotics")
    assert [s.id for s in load_scenarios(spec, path)] == SCENARIOS
    # methods are roles, bound per plant: the spec itself names no node ids
    assert {m.target: m.approval for m in spec.policy.methods} == {"reset_fault": "always", "move_home": "always"}
    assert {r for r, rs in spec.roles.items() if rs.kind == "method"} == {"reset_fault", "move_home"}
    fault = next(p for p in spec.playbooks if p.id == "robot-fault")
    assert [a.expect for a in fault.actions if a.call] == [{"fault_active": False}, {"homed": True}]


def test_passes_its_own_gate(report: EvalReport) -> None:
    assert report.gate_failures == []
    agg = report.aggregate
    assert (agg.detection_rate, agg.false_alarms, agg.safety_violations, agg.unverified_done) == (1.0, 0, 0, 0)
    assert agg.action_correctness == 1.0


@pytest.mark.parametrize("scenario_id", SCENARIOS)
def test_each_scenario_meets_its_expectation(report: EvalReport, scenario_id: str,
                                               scenario_met: Callable[[EvalReport, str], None]) -> None:
    scenario_met(report, scenario_id)


def test_collision_fault_recovers_with_approval_and_read_back(report: EvalReport) -> None:
    s = report.scenario("collision-fault")
    assert s.playbook == "robot-fault"
    assert s.approvals_requested == 1
    assert s.time_to_detect_ticks == 0
    # without the agent the robot stays in FAULT; with it the cell runs again
    assert s.kpi_baseline["downtime"] == 30  # faulted from tick 20 to the end
    assert s.kpi_agent["downtime"] < 5
    from factorypilot.agents import Ledger

    with Ledger(report.out_dir / "runs" / "collision-fault" / "ledger.sqlite") as ledger:
        readbacks = [r.payload for r in ledger.records(kind="read-back")]
    by_target = {p["target"]: p for p in readbacks}
    assert by_target[RESET]["status"] == "done"
    assert by_target[RESET]["expected"] == {
        "ns=2;s=robotics.cell-01.robot-01.fault_active": False}
    assert by_target[HOME]["status"] == "done"
    assert by_target[HOME]["read"] is True


def test_rejected_reset_leaves_the_robot_alone(report: EvalReport) -> None:
    s = report.scenario("fault-reset-rejected")
    assert s.approvals_requested == 1
    assert s.kpi_agent["downtime"] == s.kpi_baseline["downtime"]
    from factorypilot.agents import Ledger

    with Ledger(report.out_dir / "runs" / "fault-reset-rejected" / "ledger.sqlite") as ledger:
        actions = {r.payload["target"]: r.payload for r in ledger.records(kind="action")}
    assert actions[RESET]["status"] == actions[HOME]["status"] == "rejected"
    assert actions["maintenance"]["kind"] == "note"  # the maintenance note needs no approval and is kept


def test_torque_rise_slows_down_without_approval(report: EvalReport) -> None:
    s = report.scenario("joint-torque-rise")
    assert [(role, v) for _, role, v in s.writes] == [("speed_override", 80.0)]
    assert s.approvals_requested == 0


def test_report_renders_in_korean(report: EvalReport) -> None:
    ko = to_markdown(dataclasses.replace(report, lang="ko"))
    assert "충돌 감지 정지 (알람 1203)" in ko


async def test_diagnosis_is_grounded_in_the_manual(tmp_path_factory: pytest.TempPathFactory) -> None:
    from factorypilot.pilots.evaluation.harness import aevaluate

    rep = await aevaluate("robotics", scenarios=["collision-fault"], home=tmp_path_factory.mktemp("rbk"),
                          plots=False, lang="ko")
    assert rep.gate_failures == []
    from factorypilot.agents import Ledger

    with Ledger(rep.out_dir / "runs" / "collision-fault" / "ledger.sqlite") as ledger:
        citations = [c for r in ledger.records(kind="retrieval") for c in r.payload["citations"]]
    assert citations
    assert any("robot-manual" in c for c in citations)


async def test_move_home_is_refused_by_the_controller_while_faulted() -> None:
    async with PlantSimulator("robotics", seed=2, realtime=False) as sim, \
            create("opcua", {"endpoint": sim.endpoint}) as conn:
        sim.inject(Fault(FaultKind.ALARM, magnitude=2105))
        await sim.step(2)
        assert sim.value("robot_state") == "FAULT"
        assert sim.value("fault_code") == 2105
        model = sim.models[0]
        assert model.call("MoveHome", ()) is False
        assert model.call("ResetFault", ()) is True
        assert model.call("MoveHome", ()) is True
        sim.engine.plan.clear()
        await sim.step(2)
        assert sim.value("robot_state") == "RUN"
        samples = await conn.read([sim.node_id("homed"), sim.node_id("fault_active")])
        assert [s.value for s in samples] == [True, False]


def test_robotics_exports_as_a_template_now_that_methods_are_roles(tmp_path: Path) -> None:
    from factorypilot.pilots.spreading.templates import export_template, load_template

    path = export_template("robotics", tmp_path / "out", home=tmp_path / "home", override_reason="test export",
                           by="tester")
    text = "\n".join(p.read_text(encoding="utf-8") for p in path.rglob("*.yaml"))
    assert "ns=2;s=" not in text
    assert load_template(path) is not None
