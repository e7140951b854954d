"""``kind: alarm`` detectors: a plant alarm (OPC UA A&C) starts a run, a playbook keyed on it may acknowledge it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from factorypilot.agents import AgentConfig, AgentRuntime
from factorypilot.agents.detectors import AlarmDetectorConfig, build_detector, run_alarm_detectors
from factorypilot.agents.planners.base import PlanContext
from factorypilot.agents.planners.playbook import PlaybookPlanner, load_playbooks
from factorypilot.agents.safety import AlarmRule, SafetyPolicy
from factorypilot.agents.trigger import EventTrigger
from factorypilot.connectors import InMemoryConnector
from factorypilot.errors import ConfigError
from factorypilot.vocabulary import ActionKind, AlarmEvent, DataType, Event, Tag

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
LUBE = "윤활 압력 저하 (코드 2201) / Lubrication pressure low (code 2201)"


def _alarm(n: int, *, active: bool = True, acked: bool = False, cid: str = "ns=2;s=CNC1.Alarm.Condition",
           severity: int = 600, message: str = LUBE, refreshed: bool = False) -> AlarmEvent:
    return AlarmEvent(condition_id=cid, source_node="ns=2;s=CNC1.Alarm", source_name="CNC1 알람",
                      event_type="OffNormalAlarmType", event_id=f"{n:04x}", message=message, message_locale="ko-KR",
                      severity=severity, active=active, acked=acked, retain=active or not acked,
                      time=T0 + timedelta(seconds=n), refreshed=refreshed)


def test_fires_once_per_activation_including_an_alarm_active_before_we_connected() -> None:
    det: Any = build_detector(AlarmDetectorConfig(role="machine_state", message="2201"), "cnc1.state")
    first = det.update_alarm(_alarm(1, refreshed=True))
    assert first is not None
    assert (first.kind, first.role, first.detector, first.message) == ("alarm", "machine_state",
                                                                       "alarm:machine_state", LUBE)
    assert first.severity == "alarm"  # the plant's severity 600 on the four-step scale
    assert first.alarm is not None
    assert first.alarm.event_id == "0001"
    assert det.active
    assert det.update_alarm(_alarm(2, acked=True)) is None  # a change of the same activation
    assert det.update_alarm(_alarm(3, active=False, acked=True)) is None
    assert not det.active
    again = det.update_alarm(_alarm(4))
    assert again is not None
    assert again.alarm is not None
    assert again.alarm.event_id == "0004"


@pytest.mark.parametrize(("cfg", "hit"), [
    (AlarmDetectorConfig(role="r"), True),
    (AlarmDetectorConfig(role="r", message="2201"), True),
    (AlarmDetectorConfig(role="r", message="^2101"), False),
    (AlarmDetectorConfig(role="r", min_severity=700), False),
    (AlarmDetectorConfig(role="r", source="ns=2;s=CNC1.*"), True),
    (AlarmDetectorConfig(role="r", source="CNC1 *"), True),
    (AlarmDetectorConfig(role="r", source="ns=2;s=Press*"), False),
    (AlarmDetectorConfig(role="r", event_types=["OffNormalAlarmType"]), True),
    (AlarmDetectorConfig(role="r", event_types=["LimitAlarmType"]), False),
])
def test_matching_by_source_type_severity_and_message(cfg: AlarmDetectorConfig, hit: bool) -> None:
    assert bool(run_alarm_detectors([cfg], {}, [_alarm(1)])) is hit


def test_bad_message_pattern_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="not a regular expression"):
        AlarmDetectorConfig(role="r", message="(2201")
    with pytest.raises(ConfigError, match="playbook #1 invalid"):
        load_playbooks([{"id": "x", "when": {"detector": "alarm", "message": "[2201"}, "diagnosis": "d"}])


def test_replay_keeps_only_alarms_still_active() -> None:
    cfg = AlarmDetectorConfig(role="machine_state")
    assert run_alarm_detectors([cfg], {}, [_alarm(1), _alarm(2, active=False)]) == []
    [ev] = run_alarm_detectors([cfg], {}, [_alarm(1), _alarm(2, active=False), _alarm(3)])
    assert ev.alarm is not None
    assert ev.alarm.event_id == "0003"


def test_trigger_fires_once_per_alarm_and_does_not_refire() -> None:
    config = AgentConfig(name="p", roles={"machine_state": "cnc1.state"},
                         detectors=[AlarmDetectorConfig(role="machine_state")])
    trig = EventTrigger(config, ["cnc1.state"], cooldown=1)
    assert trig.wants_alarms
    trig.add_alarm(_alarm(1))
    assert trig.due(0)
    assert not trig.due(10)  # still active, but a plant alarm is one event, not a reason to act again
    trig.add_alarm(_alarm(2, active=False))
    trig.add_alarm(_alarm(3))
    assert trig.due(20)
    assert [a.event_id for a in trig.alarm_window()] == ["0001", "0002", "0003"]


PLAYBOOKS: list[dict[str, Any]] = [
    {"id": "role-only", "when": {"role": "machine_state", "severity": "info"}, "diagnosis": "role playbook",
     "actions": [{"write": "feed", "value": 0}]},
    {"id": "lube-alarm", "when": {"detector": "alarm", "message": "2201", "source": "ns=2;s=CNC1.*"},
     "diagnosis": {"en": "lubrication", "ko": "윤활"},
     "actions": [{"note": "maintenance", "text": "check the pump"},
                 {"acknowledge": "alarm", "text": {"en": "maintenance notified", "ko": "정비 통보"}}]},
]


async def test_playbook_keyed_on_the_alarm_acknowledges_it_and_a_role_only_playbook_never_answers() -> None:
    [event] = run_alarm_detectors([AlarmDetectorConfig(role="machine_state")], {}, [_alarm(7)])
    planner = PlaybookPlanner(load_playbooks(PLAYBOOKS))
    plan = await planner.plan(PlanContext(run_id="r", events=[event], lang="ko"))
    assert plan.playbook == "lube-alarm"
    note, ack = plan.actions
    assert note.kind is ActionKind.NOTE
    assert ack.kind is ActionKind.ACKNOWLEDGE
    assert (ack.target, ack.args, ack.value, ack.object_id, ack.severity) == (
        "ns=2;s=CNC1.Alarm.Condition", ("0007",), "정비 통보", "ns=2;s=CNC1.Alarm", 600)
    other = Event(kind="alarm", tag_id="x", role="machine_state", detector="alarm:machine_state",
                  message="주축 진동 (코드 2101)", alarm=_alarm(8, message="주축 진동 (코드 2101)"))
    plan = await planner.plan(PlanContext(run_id="r", events=[other]))
    assert plan.playbook is None  # neither the role-only playbook nor the 2201 one
    assert plan.escalate


async def test_live_service_acknowledges_an_alarm_the_policy_lets_it_ack_by_itself(tmp_path: Path) -> None:
    plant = InMemoryConnector(InMemoryConnector.Config(
        tags=[Tag(id="cnc1.state", name="설비 상태", data_type=DataType.STRING)], values={"cnc1.state": "ALARM"}))
    plant.raise_alarm(_alarm(1))  # active before the service starts: it arrives through the refresh
    config = AgentConfig(
        name="alarm-pilot", roles={"machine_state": "cnc1.state"},
        detectors=[AlarmDetectorConfig(role="machine_state", message="2201")],
        playbooks=load_playbooks(PLAYBOOKS[1:]),
        policy=SafetyPolicy(name="p", alarms=[AlarmRule(source="ns=2;s=CNC1.*", max_severity=700,
                                                        approval="never")]),
        verify={"attempts": 2, "interval_s": 0.0})  # type: ignore[arg-type]
    async with plant, AgentRuntime(config, plant, home=tmp_path) as rt:
        [out] = await asyncio.wait_for(rt.monitor(max_runs=1, period=0.02, approval_poll_s=0.02, cooldown_s=0), 30)
        assert out.status == "done"
        assert out.report is not None
        assert out.report["observed"][0]["message"] == LUBE  # the report shows the plant's alarm text
        statuses = {r["request"]["kind"]: r["status"] for r in out.report["results"]}
        assert statuses == {"note": "done", "acknowledge": "done"}
        assert plant.acks == [("ns=2;s=CNC1.Alarm.Condition", "acknowledge", "maintenance notified")]
        state = await plant.alarm_state("ns=2;s=CNC1.Alarm.Condition")
        assert state is not None
        assert state.acked
        assert state.active
        readback = [r.payload for r in rt.ledger.records(run_id=out.run_id) if r.kind == "read-back"]
        assert {"expected": {"ns=2;s=CNC1.Alarm.Condition/AckedState/Id": True}, "status": "done"}.items() <= \
            next(p for p in readback if "AckedState" in str(p["expected"])).items()
