"""Each sector pilot's alarm-driven scenario: the plant's own OPC UA alarm starts the run, the report shows the
alarm text, and the acknowledgement (approved by a person) is confirmed by reading AckedState back."""

from __future__ import annotations

from pathlib import Path

import pytest

from factorypilot.pilots.evaluation._run import APPROVER, run_agent
from factorypilot.pilots.evaluation.harness import load_scenarios
from factorypilot.pilots.runtime import resolve_spec

CASES = [
    ("mobility", "plant-alarm-lubrication", "주축 윤활 압력 저하 (코드 2201)", "note"),
    ("healthcare", "plant-alarm-hepa-filter", "HEPA 필터 차압 높음 (필터 교체 필요) (코드 3201)", "note"),
    ("abb", "plant-alarm-weld-coolant", "용접 토치 냉각수 유량 저하 (코드 5201)", "note"),
]


@pytest.mark.parametrize(("pilot", "scenario_id", "text", "other"), CASES)
async def test_alarm_starts_the_run_and_is_acknowledged_after_approval(pilot: str, scenario_id: str, text: str,
                                                                        other: str, tmp_path: Path) -> None:
    spec, path = resolve_spec(pilot)
    [scenario] = [s for s in load_scenarios(spec, path) if s.id == scenario_id]
    trace = await run_agent(spec, scenario, home=tmp_path)
    [run] = trace.runs
    assert run.tick == scenario.faults[0].start  # the same tick the plant raised it (barrier, not timing)
    assert run.approval == "approve"
    [observed] = run.report["observed"]
    assert observed["detector"].startswith("alarm:")
    assert observed["message"].startswith(text)
    results = {r["request"]["kind"]: r for r in run.report["results"]}
    assert set(results) == {other, "acknowledge"}
    ack = results["acknowledge"]
    assert ack["status"] == "done"
    assert ack["read_back"]["value"] is True
    assert ack["read_back"]["tag_id"].endswith(".Condition/AckedState/Id")
    assert trace.writes == []  # no process change
    approvals = [r for r in trace.ledger if r["kind"] == "approval"]
    assert [a["payload"]["by"] for a in approvals] == [APPROVER]
    kinds = [r["payload"].get("kind") for r in trace.ledger if r["kind"] == "action"]
    assert kinds.count("acknowledge") == 1
    assert trace.ledger_ok


async def test_eval_report_has_isa_18_2_alarm_statistics_in_plant_time(tmp_path: Path) -> None:
    import json

    from factorypilot.pilots.evaluation.harness import aevaluate

    rep = await aevaluate("abb", scenarios=["plant-alarm-weld-coolant", "normal-run"], home=tmp_path,
                          knowledge=False, plots=False, lang="en")
    assert rep.alarms is not None
    # one annunciation: active at tick 20, acknowledged by the pilot, back to normal at tick 40 (three states)
    assert (rep.alarms.events, rep.alarms.annunciations, rep.alarms.floods) == (3, 1, 0)
    [actor] = rep.alarms.bad_actors
    assert actor.message.startswith("용접 토치 냉각수 유량 저하 (코드 5201)")
    stored = json.loads(rep.files["json"].read_text(encoding="utf-8"))
    assert stored["alarms"]["annunciations"] == 1
    assert "## Plant alarms (ISA-18.2)" in rep.files["markdown"].read_text(encoding="utf-8")
