"""A refusal in a run's report keeps its reason codes (``ActionResult.reason_codes``), so the report shows it in
Korean too: the stored run record and the ledger carry the codes, ``runs show --lang ko`` prints the Korean text,
and a record written before codes existed still loads and shows its English text."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from factorypilot.agents import AgentRuntime, TagRule, result_reason
from factorypilot.agents._reasons import ACT_STEP_CODES, REASONS, Reason, texts, why
from factorypilot.agents.store import RunStore
from factorypilot.cli._render import render_report
from factorypilot.connectors import InMemoryConnector
from factorypilot.pilots.evaluation._score import problem_text
from factorypilot.vocabulary import ActionKind, ActionRequest, ActionResult, Sample

from .conftest import make_config

BELOW_EN = "value 85.0 below allowed minimum 90.0"
BELOW_KO = "값 85.0 이(가) 허용 최솟값 90.0 보다 작습니다"


def _rising() -> dict[str, list[Sample]]:
    return {"cnc1.vib": [Sample(tag_id="cnc1.vib", value=v) for v in (5.0, 5.5)]}


def _runs_show(run_id: str, lang: str) -> str:
    from factorypilot.cli._app import app
    from factorypilot.cli._commands import register

    register(app)
    shown = CliRunner().invoke(app, ["runs", "show", run_id, "--lang", lang], catch_exceptions=False,
                               env={"COLUMNS": "400"})
    assert shown.exit_code == 0, shown.output
    return " ".join(shown.output.split())


def _shown(report: dict[str, object], lang: str) -> str:
    console = Console(record=True, width=400)
    render_report(report, console, lang=lang)
    return " ".join(console.export_text().split())


async def test_refused_write_stores_its_code_and_the_korean_report_shows_the_korean_text(
        plant: InMemoryConnector, fp_home: Path) -> None:
    cfg = make_config(rules=[TagRule(target="feed_override", min=90, max=110)])  # the playbook's 85 is below 90
    plant.set_value("cnc1.vib", 5.5)
    async with plant, AgentRuntime(cfg, plant, home=fp_home) as rt:
        out = await rt.handle(_rising())
        run_id = out.run_id
        report_rec = rt.ledger.records(run_id=run_id, kind="report")[-1]
    assert plant.writes == []
    # the stored run record: the English text as before, and the code with its values
    store = RunStore(fp_home / "agent.sqlite", readonly=True)
    try:
        run = store.run(run_id)
    finally:
        store.close()
    assert run is not None
    [feed] = [r for r in run.data["report"]["results"] if r["request"]["target"] == "cnc1.feed"]
    assert feed["status"] == "refused"
    assert feed["reason"] == BELOW_EN
    assert feed["reason_codes"] == [{"code": "below_min", "args": {"value": 85.0, "min": 90.0}}]
    assert ActionResult.model_validate({k: feed[k] for k in ActionResult.model_fields if k in feed}).reason_codes[
        0].code == "below_min"
    # the ledger's report record carries the codes too
    [ledgered] = [r for r in report_rec.payload["results"] if r["target"] == "cnc1.feed"]
    assert ledgered["codes"] == feed["reason_codes"]
    # rendered: Korean in a Korean report, English in an English one
    assert BELOW_KO in _shown(run.data["report"], "ko")
    assert BELOW_EN not in _shown(run.data["report"], "ko")
    assert BELOW_EN in _shown(run.data["report"], "en")
    # the CLI: runs show --lang ko
    assert BELOW_KO in _runs_show(run_id, "ko")
    assert BELOW_KO not in _runs_show(run_id, "en")


async def test_conditions_changed_before_acting_is_coded_with_the_nested_reason(plant: InMemoryConnector,
                                                                               fp_home: Path) -> None:
    cfg = make_config(rules=[TagRule(target="feed_override", min=50, max=110, approval="always")])
    plant.set_value("cnc1.vib", 5.5)
    async with plant, AgentRuntime(cfg, plant, home=fp_home) as rt:
        out = await rt.handle(_rising())
        assert out.status == "waiting_approval"
        plant.set_value("cnc1.door", True)  # the door opens while the person decides
        done = await rt.resume(out.run_id, "approve", by="김민수")
        assert plant.writes == []
        [feed] = [r for r in (done.report or {})["results"] if r["request"]["target"] == "cnc1.feed"]
        assert feed["status"] == "refused"
        assert feed["reason"] == "conditions changed before acting: interlock 'door' active: door open"
        assert [c["code"] for c in feed["reason_codes"]] == ["conditions_changed"]
        assert result_reason(feed, "ko") == "보내기 직전에 조건이 바뀌었습니다: 인터록 'door' 작동 중: door open"
        refusal = next(r for r in rt.ledger.records(run_id=out.run_id, kind="refusal")
                       if r.payload["target"] == "cnc1.feed")
        assert refusal.payload["codes"] == feed["reason_codes"]
        # the act node run again (a replay after a crash): the settled refusal keeps its codes (from the ledger)
        from factorypilot.agents._nodes_act import act

        snap = await rt.graph.aget_state(rt._cfg(out.run_id))
        replayed = await act(rt.deps, snap.values, lambda _: None)  # type: ignore[arg-type]
        [feed_again] = [r for r in replayed["results"] if r["request"]["target"] == "cnc1.feed"]
        assert (feed_again["status"], feed_again.get("settled")) == ("refused", True)
        assert feed_again["reason_codes"] == feed["reason_codes"]
    # runs show --lang ko: the report and the action line (a refusal found when acting is in the action table)
    shown = _runs_show(out.run_id, "ko")
    assert "refused 보내기 직전에 조건이 바뀌었습니다: 인터록 'door' 작동 중: door open" in shown
    assert "conditions changed before acting" not in shown


async def test_dry_run_without_simulator_is_coded(plant: InMemoryConnector, tmp_path: Path) -> None:
    plant.set_value("cnc1.vib", 5.5)
    async with plant, AgentRuntime(make_config(dry_run_on_simulator=True), plant, home=tmp_path) as rt:
        out = await rt.handle(_rising())
    [feed] = [r for r in (out.report or {})["results"] if r["request"]["target"] == "cnc1.feed"]
    assert feed["reason_codes"] == [{"code": "dry_run_no_simulator", "args": {}}]
    assert result_reason(feed, "ko") == "정책이 시뮬레이터 사전 실행을 요구하지만 설정된 시뮬레이터가 없습니다"


def test_a_record_written_before_codes_loads_and_shows_its_stored_text() -> None:
    req = ActionRequest(kind=ActionKind.WRITE, target="cnc1.feed", value=85.0)
    old = {"request": req.model_dump(mode="json"), "status": "refused", "reason": BELOW_EN,
           "idempotency_key": "r:act:0:x", "executed_value": None, "read_back": None, "time": "2026-11-01T00:00:00Z"}
    assert ActionResult.model_validate(old).reason_codes == []
    assert result_reason(old, "ko") == BELOW_EN
    report = {"results": [old | {"role": "feed_override"}], "observed": [], "citations": []}
    assert BELOW_EN in _shown(report, "ko")
    # a code this version does not know shows the stored text, never a traceback
    assert result_reason(old | {"reason_codes": [{"code": "below_min", "args": {}}]}, "ko") == BELOW_EN


@pytest.mark.parametrize(("reason", "en", "ko"), [
    (why("alarm_gone", target="ns=2;s=A"),
     "alarm ns=2;s=A is no longer held by the plant (returned to normal and acknowledged); not sent",
     "설비에 알람 ns=2;s=A 이(가) 더 이상 없습니다 (정상 복귀 후 확인됨). 보내지 않았습니다"),
    (why("alarm_not_acked", target="ns=2;s=A"),
     "alarm ns=2;s=A is not acknowledged yet; it cannot be confirmed before",
     "알람 ns=2;s=A 이(가) 아직 확인(acknowledge)되지 않아 승인(confirm)할 수 없습니다"),
    (why("alarm_already_done", target="ns=2;s=A", done="acknowledged", verb="acknowledge"),
     "alarm ns=2;s=A is already acknowledged at the plant (e.g. by an operator); not sent again",
     "알람 ns=2;s=A 은(는) 설비에서 이미 확인(acknowledge)되었습니다 (예: 작업자가 HMI 에서). 다시 보내지 않았습니다"),
    (why("alarm_changed", target="ns=2;s=A", verb="confirm"),
     "alarm ns=2;s=A changed since the confirm was proposed (new EventId: it returned to normal, or its severity "
     "or text changed); propose it again",
     "승인(confirm) 제안 뒤에 알람 ns=2;s=A 이(가) 바뀌었습니다 (새 EventId: 정상 복귀했거나 심각도나 문구가 바뀜). "
     "다시 제안하세요"),
    (why("alarm_severity_changed", target="ns=2;s=A", severity=900, proposed=700),
     "alarm ns=2;s=A now has severity 900, not 700; propose it again",
     "알람 ns=2;s=A 의 심각도가 700 이(가) 아니라 이제 900 입니다. 다시 제안하세요"),
    (why("dry_run_no_role", target="feed"), "dry run impossible: role of 'feed' does not exist on the simulator",
     "사전 실행 불가: 'feed' 의 역할이 시뮬레이터에 없습니다"),
    (why("dry_run_failed", error="read-back does not match"), "dry run on the simulator failed: read-back does not "
     "match", "시뮬레이터 사전 실행 실패: read-back does not match"),
    (why("edited_refused", reasons=[why("above_max", value=150, max=110.0).model_dump(),
                                    why("now_needs_approval").model_dump()]),
     "edited value refused: value 150 above allowed maximum 110.0; now needs approval",
     "수정한 값이 거부되었습니다: 값 150 이(가) 허용 최댓값 110.0 보다 큽니다; 이제 승인이 필요합니다"),
])
def test_act_step_reasons_in_english_as_before_and_in_korean(reason: Reason, en: str, ko: str) -> None:
    assert (reason.text(), reason.text("ko")) == (en, ko)
    back = Reason.model_validate_json(reason.model_dump_json())  # stored as JSON in the run record
    assert texts([back.model_dump()], "ko") == ko


def test_every_act_step_code_has_korean_text() -> None:
    assert set(REASONS) >= ACT_STEP_CODES
    for code in ACT_STEP_CODES:
        assert REASONS[code]["ko"], code
        assert REASONS[code]["ko"] != REASONS[code]["en"], code


def test_evaluation_report_lists_refusals_in_the_report_language() -> None:
    problem = {"code": "wrong_action", "detail": f": feed_override: refused ({BELOW_EN})",
               "detail_ko": f": feed_override: refused ({BELOW_KO})"}
    assert problem_text(problem, "ko") == f"기대와 다른 조치: feed_override: refused ({BELOW_KO})"
    assert problem_text(problem, "en") == f"action not as expected: feed_override: refused ({BELOW_EN})"
    older = {"code": "wrong_action", "detail": f": feed_override: refused ({BELOW_EN})"}  # a report.json from before
    assert problem_text(older, "ko") == f"기대와 다른 조치: feed_override: refused ({BELOW_EN})"


def test_a_proposal_refused_when_its_run_acted_gets_korean_reasons_and_codes() -> None:
    """MCP ``propose_action``: conditions changed between its check and the run's guard — the reasons come from the
    run's report, coded (``reasons_ko``, ``reason_codes``), and a result without codes keeps its text."""
    from factorypilot.agents._external import report_refusals

    changed = why("conditions_changed", reasons=[why("interlock", name="door").model_dump()])
    report = {"results": [{"status": "refused", "reason": changed.text(), "reason_codes": [changed.model_dump()]},
                          {"status": "done", "reason": "read back"},
                          {"status": "refused", "reason": BELOW_EN}]}
    coded = report_refusals(report)
    assert [c.code for c in coded] == ["conditions_changed", "text"]
    assert [c.text("ko") for c in coded] == ["보내기 직전에 조건이 바뀌었습니다: 인터록 'door' 작동 중", BELOW_EN]
    assert [c.text() for c in coded] == ["conditions changed before acting: interlock 'door' active", BELOW_EN]
