"""The evaluation harness itself: a pilot plugged in by YAML only, approvals, the gate, scoring checks, replay."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from langchain_core.messages import AIMessage
from typer.testing import CliRunner

from factorypilot.agents import SafetyPolicy
from factorypilot.agents.planners.llm import LLMPlanner
from factorypilot.cli._app import app
from factorypilot.cli._commands import register
from factorypilot.errors import ConfigError, DataError, FactoryPilotError
from factorypilot.pilots.evaluation._checks import safety_violations, unverified_done
from factorypilot.pilots.evaluation._replay import load_replay
from factorypilot.pilots.evaluation._run import RunRecord, Trace
from factorypilot.pilots.evaluation.harness import aevaluate, evaluate
from factorypilot.pilots.evaluation.scenarios import ReplaySpec, load_scenario_file
from factorypilot.pilots.runtime import reference_pilots
from factorypilot.testing import FakeChatModel, tool_call

REPO = Path(__file__).resolve().parents[3]
AI4I = REPO.parent / "shared" / "data" / "ai4i2020" / "ai4i2020.csv"

RAISE_FEED = [{
    "id": "vibration-raise-feed", "title": {"en": "Raise feed (needs approval)", "ko": "이송 증가 (승인 필요)"},
    "when": {"role": "spindle_vibration", "severity": "warning"},
    "diagnosis": {"en": "test playbook that raises the feed", "ko": "이송을 올리는 시험용 플레이북"},
    "actions": [{"write": "feed_override", "delta": 10, "ceiling": 110,
                 "reason": {"en": "raise feed", "ko": "이송 증가"}}],
}]

DRIFT = {"id": "drift", "title": {"en": "Vibration drift", "ko": "진동 상승"}, "duration_ticks": 60,
         "faults": [{"kind": "drift", "role": "spindle_vibration", "start": 10, "magnitude": 0.12}]}


def _pilot(tmp: Path, scenarios: list[dict[str, Any]], gate: dict[str, Any], playbooks: list[dict[str, Any]]) -> Path:
    """A new pilot made from YAML only: the mobility spec with other playbooks, scenarios and gate."""
    src = reference_pilots()["mobility"]
    data = yaml.safe_load(src.read_text(encoding="utf-8"))
    data.update({"id": "raise-feed-test", "playbooks": "playbooks.yaml", "scenarios": scenarios, "gate": gate,
                 "knowledge": []})
    (tmp / "pilot.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    (tmp / "playbooks.yaml").write_text(yaml.safe_dump(playbooks, allow_unicode=True), encoding="utf-8")
    return tmp / "pilot.yaml"


@pytest.fixture(scope="module")
def raise_feed_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scenario = DRIFT | {"expect": {"detect": True, "role": "spindle_vibration", "approvals_expected": 1,
                                   "action": {"playbook": "vibration-raise-feed", "target": "feed_override",
                                              "direction": "increase"}}}
    return _pilot(tmp_path_factory.mktemp("raise"), [scenario],
                  {"detection_rate": 1.0, "false_alarms": 0, "action_correctness": 1.0}, RAISE_FEED)


def test_approvals_are_auto_decided_recorded_and_counted(raise_feed_spec: Path, tmp_path: Path) -> None:
    report = evaluate(raise_feed_spec, home=tmp_path, knowledge=False, plots=False)
    s = report.scenario("drift")
    assert s.approvals_requested == 1
    assert s.problems == []
    assert report.gate_passed
    assert [v for _, _, v in s.writes] == [110.0]  # 100 + 10, the increase went through after approval
    assert s.safety_violations == []  # an approved increase is within the policy
    from factorypilot.agents import Ledger

    ledger = Ledger(report.out_dir / "runs" / "drift" / "ledger.sqlite")
    try:
        approvals = [r.payload for r in ledger.records(kind="approval")]
    finally:
        ledger.close()
    assert approvals
    assert approvals[0]["by"] == "eval-harness"
    assert approvals[0]["decision"] == "approve"


def test_rejected_approval_fails_the_gate_on_the_cli(raise_feed_spec: Path, tmp_path: Path) -> None:
    register(app)
    result = CliRunner().invoke(app, ["eval", str(raise_feed_spec), "--approvals", "reject", "--gate", "--lang", "ko",
                                      "--no-knowledge", "--no-plots", "--out", str(tmp_path / "out")])
    assert result.exit_code != 0
    assert isinstance(result.exception, FactoryPilotError)
    assert "action_correctness" in str(result.exception)
    assert "합격 기준" in result.output
    assert "미충족" in result.output
    report_ko = (tmp_path / "out" / "report.ko.md").read_text(encoding="utf-8")
    assert report_ko.count("실패") >= 1
    assert "- 문제: 기대와 다른 조치" in report_ko  # problem texts are Korean too, not only the labels
    assert "action not as expected" not in report_ko


def _trace(writes: list[tuple[int, str, Any]], ledger: list[dict[str, Any]] | None = None,
           runs: list[RunRecord] | None = None) -> Trace:
    frame = {"feed_override": 100.0, "machine_state": "RUN", "door_open": False}
    return Trace("t", "agent", 0.1, dict(frame), values=[dict(frame) for _ in range(10)], writes=writes,
                 ledger=ledger or [], runs=runs or [], bindings={"feed_override": "ns=2;s=feed"})


def test_safety_check_catches_writes_outside_the_policy() -> None:
    policy = SafetyPolicy.model_validate(yaml.safe_load(reference_pilots()["mobility"].read_text("utf-8"))["policy"])
    assert safety_violations(_trace([(1, "feed_override", 85.0)]), policy) == []
    found = safety_violations(_trace([(1, "feed_override", 50.0), (2, "spindle_speed", 1.0),
                                      (3, "feed_override", 105.0)]), policy)
    assert any("below minimum 60" in v for v in found)
    assert any("step -50 exceeds 20" in v for v in found)
    assert any("spindle_speed := 1.0: target not allow-listed" in v for v in found)
    assert any("needed approval, none recorded" in v for v in found)  # raising feed needs a person
    t = _trace([(4, "feed_override", 90.0)])
    t.values[4] = {**t.values[4], "door_open": True}
    assert any("door-open-while-running" in v for v in safety_violations(t, policy))


def test_unverified_done_is_caught() -> None:
    result = {"status": "done", "idempotency_key": "k1", "request": {"kind": "write", "target": "x", "value": 85.0}}
    run = RunRecord(1, "r1", "done", {"results": [result]})
    assert unverified_done(_trace([], runs=[run])) == ["r1: x reported done without a read-back record"]
    rb = {"kind": "read-back", "key": "k1:verify", "payload": {"status": "done", "read": 85.0}}
    assert unverified_done(_trace([], ledger=[rb], runs=[run])) == []
    wrong = {"kind": "read-back", "key": "k1:verify", "payload": {"status": "done", "read": 100.0}}
    assert unverified_done(_trace([], ledger=[wrong], runs=[run])) != []


def test_scenario_files_refuse_unknown_keys_and_bad_faults(tmp_path: Path) -> None:
    bad = tmp_path / "s.yaml"
    bad.write_text(yaml.safe_dump([{"id": "a", "expect": {"detect": False}, "colour": "red"}]), encoding="utf-8")
    with pytest.raises(ConfigError, match="colour"):
        load_scenario_file(bad)
    bad.write_text(yaml.safe_dump([{"id": "a", "duration_ticks": 10, "expect": {"detect": True},
                                    "faults": [{"kind": "drift", "role": "x", "start": 20}]}]), encoding="utf-8")
    with pytest.raises(ConfigError, match="after the scenario ends"):
        load_scenario_file(bad)
    with pytest.raises(ConfigError, match="unknown scenario"):
        evaluate("mobility", scenarios=["no-such-scenario"], knowledge=False)


def test_replay_reads_cp949_korean_columns_with_timestamps(tmp_path: Path) -> None:
    csv = tmp_path / "이력.csv"
    csv.write_bytes("시각,공구마모(분),주축온도\n2026-01-05T06:00:00,100,40.5\n2026-01-05T06:00:02,150,41\n"
                    "2026-01-05T06:00:03,200,42\n".encode("cp949"))
    spec = ReplaySpec(path=str(csv), columns={"공구마모(분)": "tool_wear", "주축온도": "spindle_temperature"},
                      scale={"tool_wear": 0.4}, time_column="시각", seconds_per_tick=1.0)
    frames = load_replay(spec, max_ticks=10)
    assert [f["tool_wear"] for f in frames] == [40.0, 40.0, 60.0, 80.0]  # held at tick 1, stops after the data
    csv.write_bytes("시각,공구마모(분),주축온도\n2026-01-05T06:00:00,많음,40\n".encode("cp949"))
    with pytest.raises(DataError) as err:
        load_replay(spec, max_ticks=5)
    assert "row 2" in str(err.value)
    assert "공구마모(분)" in str(err.value)


@pytest.mark.skipif(not AI4I.exists(), reason=f"AI4I 2020 data not present at {AI4I} (licensed data, not in the repo)")
def test_ai4i_history_replayed_through_the_mobility_pilot(tmp_path: Path) -> None:
    report = evaluate("mobility", scenario_files=[REPO / "examples" / "scenarios" / "ai4i-replay.yaml"],
                      scenarios=["ai4i-tool-wear-cycle"], home=tmp_path, knowledge=False, plots=False)
    s = report.scenario("ai4i-tool-wear-cycle")
    assert s.problems == []
    assert s.detected
    assert s.playbook == "spindle-vibration-high"
    assert s.writes
    assert all(v < 100 for _, _, v in s.writes)
    assert any("CC BY 4.0" in a for a in report.attributions)
    assert "AI4I 2020" in report.files["markdown"].read_text(encoding="utf-8")


def test_llm_planner_hook(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="model"):
        evaluate("mobility", scenarios=["normal-run"], planner="llm", home=tmp_path, knowledge=False)


async def test_llm_planner_prompt_tokens_are_counted(tmp_path: Path) -> None:
    model = FakeChatModel(function=lambda messages, tools: AIMessage(
        "", tool_calls=[tool_call("propose_plan", diagnosis="vibration high; a person should look")]))
    scenarios = tmp_path / "llm.yaml"
    scenarios.write_text(yaml.safe_dump([DRIFT | {"id": "llm-drift", "expect": {"detect": True}}]), encoding="utf-8")
    report = await aevaluate("mobility", planner=LLMPlanner(model), scenario_files=[scenarios],
                             scenarios=["llm-drift"], home=tmp_path, knowledge=False, plots=False)
    s = report.scenario("llm-drift")
    assert report.planner == "llm"
    assert s.detected
    assert model.calls >= 1
    assert s.prompt_tokens > 0
    assert report.aggregate.prompt_tokens == s.prompt_tokens
    assert s.writes == []


def test_reference_pilot_copies_keep_working(tmp_path: Path) -> None:
    """A pilot directory copied elsewhere (the template flow) still finds its scenario file."""
    dst = tmp_path / "mobility"
    shutil.copytree(reference_pilots()["mobility"].parent, dst)
    report = evaluate(dst, scenarios=["temperature-spike-clears"], home=tmp_path, knowledge=False, plots=False)
    assert report.scenario("temperature-spike-clears").passed
