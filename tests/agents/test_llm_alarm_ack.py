"""The LLM planner may acknowledge the plant alarm that started the run — never another one, never without a person.

The model names only the condition id (the schema offers just that alarm's) and writes the comment; EventId,
branch, severity and source come from the alarm event, as for the playbook planner. The policy below lets a
*playbook* acknowledge this alarm alone (``approval: never``); an LLM acknowledge still waits for a person.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage

from factorypilot.agents import AgentConfig, AgentRuntime
from factorypilot.agents.detectors import AlarmDetectorConfig, run_alarm_detectors
from factorypilot.agents.planners._llm_prompt import render_context
from factorypilot.agents.planners.base import PlanContext
from factorypilot.agents.planners.llm import LLMPlanner, plan_response_format
from factorypilot.agents.planners.playbook import PlaybookPlanner, load_playbooks
from factorypilot.agents.safety import AlarmRule, SafetyPolicy
from factorypilot.connectors import InMemoryConnector
from factorypilot.testing import FakeChatModel
from factorypilot.vocabulary import ActionKind, AlarmEvent, DataType, Event, Tag

CID = "ns=2;s=CNC1.Alarm.Condition"
LUBE = "윤활 압력 저하 (코드 2201) / Lubrication pressure low (code 2201)"
PLAYBOOKS: list[dict[str, Any]] = [
    {"id": "lube-alarm", "when": {"detector": "alarm", "message": "2201"}, "diagnosis": "lubrication",
     "actions": [{"note": "maintenance", "text": "check the pump"},
                 {"acknowledge": "alarm", "text": {"en": "maintenance notified", "ko": "정비 통보"}}]},
]


def _alarm(n: int, *, branch: str | None = None) -> AlarmEvent:
    return AlarmEvent(condition_id=CID, source_node="ns=2;s=CNC1.Alarm", source_name="CNC1 알람",
                      event_type="OffNormalAlarmType", event_id=f"{n:04x}", message=LUBE, message_locale="ko-KR",
                      severity=600, active=True, acked=False, retain=True, branch_id=branch,
                      time=datetime(2026, 12, 7, 9, 0, n, tzinfo=UTC))


def _plan(target: str, comment: str = "정비팀 통보 / maintenance told") -> str:
    return json.dumps({"diagnosis": "lubrication pressure low", "escalate": False, "actions": [
        {"kind": "note", "target": "maintenance", "value": "check the lube pump"},
        {"kind": "acknowledge", "target": target, "value": comment, "reason": "maintenance was told"}]})


def _config() -> AgentConfig:
    return AgentConfig(
        name="alarm-pilot", roles={"machine_state": "cnc1.state"},
        detectors=[AlarmDetectorConfig(role="machine_state", message="2201")],
        playbooks=load_playbooks(PLAYBOOKS),
        policy=SafetyPolicy(name="p", alarms=[AlarmRule(source="ns=2;s=CNC1.*", max_severity=700,
                                                        approval="never")]),
        verify={"attempts": 2, "interval_s": 0.0})  # type: ignore[arg-type]


def _event(n: int = 7, branch: str | None = None) -> Event:
    [event] = run_alarm_detectors([AlarmDetectorConfig(role="machine_state")], {}, [_alarm(n, branch=branch)])
    return event


async def test_llm_acknowledge_is_built_from_the_alarm_event_and_waits_for_a_person(tmp_path: Path) -> None:
    plant = InMemoryConnector(InMemoryConnector.Config(
        tags=[Tag(id="cnc1.state", name="설비 상태", data_type=DataType.STRING)], values={"cnc1.state": "ALARM"}))
    alarm = _alarm(7)
    plant.raise_alarm(alarm)
    fake = FakeChatModel(script=[_plan(CID)])
    planner = LLMPlanner(fake, mode="json", fallback=PlaybookPlanner(_config().playbooks))
    async with plant, AgentRuntime(_config(), plant, home=tmp_path, planner=planner) as rt:
        out = await rt.handle(alarms=[alarm])
        assert out.status == "waiting_approval"
        assert plant.acks == []  # the policy lets a playbook ack alone; a model's ack waits for a person
        [decision] = [r.payload for r in rt.ledger.records(run_id=out.run_id) if r.kind == "decision"]
        assert (decision["planner"], decision["source"]) == ("llm", "llm")
        pending = rt.store.approval(out.run_id)
        assert pending is not None
        ack = next(a for a in pending.request["actions"] if a["kind"] == "acknowledge")
        assert (ack["target"], ack["args"], ack["value"], ack["object_id"], ack["severity"]) == (
            CID, ["0007"], "정비팀 통보 / maintenance told", "ns=2;s=CNC1.Alarm", 600)
        assert ack["requested_by"] == "llm:fake-chat"
        assert ack["event_id"] == decision["actions"][1]["event_id"]
        # the schema offered exactly this alarm's condition id
        schema = fake.options_seen[0]["response_format"]["json_schema"]["schema"]
        kinds = {v["properties"]["kind"]["const"]: v for v in schema["properties"]["actions"]["items"]["anyOf"]}
        assert kinds["acknowledge"]["properties"]["target"] == {"enum": [CID]}
        assert f"ALARM you may acknowledge: condition {CID}" in str(fake.received[0][1].content)
        done = await rt.resume(out.run_id, "approve", by="이영희")
        assert done.status == "done"
        assert plant.acks == [(CID, "acknowledge", "정비팀 통보 / maintenance told")]
        state = await plant.alarm_state(CID)
        assert state is not None
        assert state.acked
        assert rt.ledger.verify().ok


async def test_another_condition_id_is_a_plan_error_retried_then_the_fallback_plans() -> None:
    other = "ns=2;s=CNC2.Alarm.Condition"
    fake = FakeChatModel(script=[_plan(other), _plan(other)])
    planner = LLMPlanner(fake, mode="json", max_retries=1, fallback=PlaybookPlanner(_config().playbooks))
    plan = await planner.plan(PlanContext(run_id="r", events=[_event()]))
    assert plan.source == "fallback"
    assert plan.planner == "llm>playbook"
    assert [a.requested_by for a in plan.actions] == ["playbook", "playbook"]  # nothing the model named is kept
    assert all(a.target != other for a in plan.actions)
    fed_back = fake.received[1][-1]
    assert isinstance(fed_back, HumanMessage)
    assert "is not the alarm that started this run" in str(fed_back.content)
    assert CID in str(fed_back.content)


async def test_acknowledge_after_a_retry_keeps_the_branch_and_the_model_cannot_change_ids() -> None:
    fake = FakeChatModel(script=[_plan("ns=2;s=CNC2.Alarm.Condition"), _plan(CID)])
    plan = await LLMPlanner(fake, mode="json").plan(PlanContext(run_id="r", events=[_event(9, branch="b1")]))
    assert plan.source == "llm-after-retry"
    ack = next(a for a in plan.actions if a.kind is ActionKind.ACKNOWLEDGE)
    assert (ack.target, ack.args, ack.severity, ack.object_id) == (CID, ("0009", "b1"), 600, "ns=2;s=CNC1.Alarm")


async def test_no_acknowledge_without_a_plant_alarm() -> None:
    vib = Event(kind="threshold", tag_id="cnc1.vib", role="spindle_vibration", message="vibration high", value=5.5)
    ctx = PlanContext(run_id="r", events=[vib], roles={"spindle_vibration": "cnc1.vib"})
    schema = plan_response_format(ctx)["json_schema"]["schema"]
    assert "acknowledge" not in json.dumps(schema)
    assert "ALARM you may acknowledge" not in render_context(ctx)
    fake = FakeChatModel(script=[_plan(CID), _plan(CID), _plan(CID)])
    plan = await LLMPlanner(fake, mode="json").plan(ctx)
    assert plan.source == "fallback"
    assert plan.escalate
    assert plan.actions == []
    assert "nothing to acknowledge" in str(fake.received[1][-1].content)


def test_tools_mode_offers_acknowledge_only_for_an_alarm() -> None:
    from factorypilot.agents.planners._llm_tools import ToolSession

    def kinds(events: list[Event]) -> list[str]:
        [plan] = [t for t in ToolSession(PlanContext(run_id="r", events=events), "llm:x").tool_schemas()
                  if t["function"]["name"] == "propose_plan"]
        enum: list[str] = plan["function"]["parameters"]["properties"]["actions"]["items"]["properties"]["kind"][
            "enum"]
        return enum

    assert "acknowledge" in kinds([_event()])
    assert "acknowledge" not in kinds([Event(kind="threshold", tag_id="x", message="m")])

