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
             "torque-spike-clears", "normal-run", "stuck-torque-sensor",
             # the LLM planner's scenarios (judgement beyond the playbook, injected text); the playbook passes them too
             "llm-torque-and-heat", "llm-cycle-time-drift", "llm-injection"]
RESET = "ns=2;s=robotics.cell-01.robot-01.ResetFault"
HOME = "ns=2;s=robotics.cell-01.robot-01.MoveHome"
SETTER = "ns=2;s=robotics.cell-01.robot-01.SetSpeedOverride"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> EvalReport:
    return evaluate("robotics", home=tmp_path_factory.mktemp("rb"), knowledge=False, plots=False, lang="en")


def test_spec_lists_its_scenarios_and_recovery_needs_approval() -> None:
    spec, path = resolve_spec("robotics")
    assert [s.id for s in load_scenarios(spec, path)] == SCENARIOS
    # methods are roles, bound per plant: the spec itself names no node ids
    assert {m.target: m.approval for m in spec.policy.methods} == {
        "reset_fault": "always", "move_home": "always", "set_speed_override": "always"}
    assert {r for r, rs in spec.roles.items() if rs.kind == "method"} == {"reset_fault", "move_home",
                                                                           "set_speed_override"}
    setter = spec.roles["set_speed_override"]
    assert [(a.name, a.data_type.value, a.unit) for a in setter.arguments or []] == [("percent", "float", "%")]
    assert setter.confirm_args == {"speed_override": "percent"}
    rule = next(m for m in spec.policy.methods if m.target == "set_speed_override")
    assert [(a.name, a.min, a.max) for a in rule.args or []] == [("percent", 50.0, 100.0)]
    for pid in ("robot-alarm", "robot-fault"):  # the controller's A&C alarm, or a fault code on any plant
        fault = next(p for p in spec.confirmed_playbooks() if p.id == pid)
        assert [(a.call, a.args, a.expect) for a in fault.actions if a.call] == [
            ("reset_fault", [], {"fault_active": False}), ("move_home", [], {"homed": True}),
            ("set_speed_override", [80], {"speed_override": 80})]  # the read-back is the argument passed


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
    assert s.playbook == "robot-alarm"  # the controller's own alarm drives it (the threshold fires too)
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
    # the restart step passes its argument (80 %) and is done only when the override reads 80 back
    assert by_target[SETTER]["status"] == "done"
    assert by_target[SETTER]["expected"] == {"ns=2;s=robotics.cell-01.robot-01.speed_override": 80}
    assert by_target[SETTER]["read"] == 80.0
    with Ledger(report.out_dir / "runs" / "collision-fault" / "ledger.sqlite") as ledger:
        plans = [r.payload for r in ledger.records(kind="decision")]
    calls = [a for p in plans for a in p["actions"] if a["target"] == SETTER]
    assert [c["args"] for c in calls] == [[80]]


def test_rejected_reset_leaves_the_robot_alone(report: EvalReport) -> None:
    s = report.scenario("fault-reset-rejected")
    assert s.approvals_requested == 1
    assert s.kpi_agent["downtime"] == s.kpi_baseline["downtime"]
    from factorypilot.agents import Ledger

    with Ledger(report.out_dir / "runs" / "fault-reset-rejected" / "ledger.sqlite") as ledger:
        actions = {r.payload["target"]: r.payload for r in ledger.records(kind="action")}
    assert actions[RESET]["status"] == actions[HOME]["status"] == actions[SETTER]["status"] == "rejected"
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


async def test_override_setter_out_of_range_is_refused_and_never_reaches_the_robot(tmp_path: Path) -> None:
    """The guard checks the call's argument against the method rule (50..100 %): 30 % is refused and never sent
    (the controller itself would take 30 %, so the plant's state proves it); 80 % waits for a person, is called
    with its argument and is done when the override reads 80 back."""
    from factorypilot.agents import AgentRuntime
    from factorypilot.agents._external import propose
    from factorypilot.vocabulary import ActionKind, ActionRequest

    spec, _ = resolve_spec("robotics")
    proposer = {"client": "cli:김반장", "by": "김반장", "transport": "cli"}
    async with PlantSimulator("robotics", seed=2, realtime=False) as sim, \
            create("opcua", {"endpoint": sim.endpoint}) as conn:
        await sim.step(1)
        bindings = spec.simulator_bindings(sim.roles(), sim.method_ids())
        assert bindings["set_speed_override"] == SETTER
        ovr = sim.node_id("speed_override")
        async with AgentRuntime(spec.agent_config(bindings), conn, home=tmp_path, lease=False) as rt:
            def call(percent: float) -> ActionRequest:
                expect = {bindings[r]: v for r, v in spec.roles["set_speed_override"].read_back((percent,)).items()}
                return ActionRequest(kind=ActionKind.METHOD, target="set_speed_override", args=(percent,),
                                     expect=expect, reason="restart slower", requested_by="cli:김반장")

            low = await propose(rt, call(30.0), proposer=proposer)
            assert low.status == "refused"
            assert low.reasons == ["argument percent = 30 below allowed minimum 50"]
            assert sim.value("speed_override") == 100.0
            assert [s.value for s in await conn.read([ovr])] == [100.0]
            refusals = [r.payload for r in rt.ledger.records(kind="refusal")]
            assert [(p["target"], p["reasons"]) for p in refusals] == [(SETTER, low.reasons)]
            assert rt.ledger.records(kind="action") == []

            ok = await propose(rt, call(80.0), proposer=proposer)
            assert ok.status == "pending_approval", ok.reasons
            assert ok.request_id is not None
            assert sim.value("speed_override") == 100.0  # nothing is sent before a person approves
            outcome = await rt.resume(ok.request_id, "approve", by="김반장")
            assert outcome.status == "done"
            assert sim.value("speed_override") == 80.0
            actions = [r.payload for r in rt.ledger.records(kind="action", run_id=ok.request_id)]
            assert [(a["target"], a["status"], a["approved_by"]) for a in actions] == [(SETTER, "executed", "김반장")]
            readback = [r.payload for r in rt.ledger.records(kind="read-back", run_id=ok.request_id)]
            assert [(p["status"], p["read"]) for p in readback] == [("done", 80.0)]
