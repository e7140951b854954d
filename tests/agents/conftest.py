from __future__ import annotations

from typing import Any

import pytest

from factorypilot.agents import AgentConfig, SafetyPolicy, TagRule
from factorypilot.agents.detectors import ThresholdConfig
from factorypilot.agents.planners.playbook import load_playbooks
from factorypilot.agents.safety import Condition, Interlock
from factorypilot.connectors import InMemoryConnector
from factorypilot.vocabulary import DataType, Limits, Tag

TAGS = [
    Tag(id="cnc1.vib", name="주축 진동", unit="mm/s", data_type=DataType.FLOAT),
    Tag(id="cnc1.feed", name="이송 오버라이드", unit="%", data_type=DataType.FLOAT, writable=True,
        limits=Limits(low=0, high=120)),
    Tag(id="cnc1.door", name="도어 열림", data_type=DataType.BOOLEAN),
    Tag(id="cnc1.speed", name="주축 회전수", unit="rpm", data_type=DataType.FLOAT, writable=True),
]

PLAYBOOKS: list[dict[str, Any]] = [{
    "id": "vibration-high",
    "when": {"role": "spindle_vibration", "severity": "warning"},
    "diagnosis": {"en": "Spindle vibration high", "ko": "주축 진동 상승"},
    "knowledge": ["spindle vibration"],
    "actions": [
        {"write": "feed_override", "delta": -15, "floor": 60,
         "reason": {"en": "reduce cutting load", "ko": "절삭 부하 감소"}},
        {"note": "maintenance", "text": {"en": "inspect tool", "ko": "공구 점검"}},
    ],
}]


# The planner-mechanics tests let the model act alone within range (an explicit opt-in, as a pilot would write
# it); the default — every LLM-proposed action waits for a person — is tested in test_llm_safety.py.
LLM_ALONE: dict[str, Any] = {"playbook": "never", "llm": "never"}


def make_config(**policy: Any) -> AgentConfig:
    rules = policy.pop("rules", [TagRule(target="feed_override", min=50, max=110, max_step=20, approval=LLM_ALONE)])
    policy.setdefault("notes_need_approval", {"playbook": False, "llm": False})
    return AgentConfig(
        name="test-pilot",
        roles={"spindle_vibration": "cnc1.vib", "feed_override": "cnc1.feed", "door_open": "cnc1.door"},
        detectors=[ThresholdConfig(role="spindle_vibration", high=4.0, persist=2)],
        playbooks=load_playbooks(PLAYBOOKS),
        policy=SafetyPolicy(name="test", tags=rules, interlocks=[Interlock(
            name="door", when=[Condition(tag="door_open", op="==", value=True)], message="door open")], **policy),
        verify={"attempts": 2, "interval_s": 0.0, "timeout_s": 0.0},  # type: ignore[arg-type]
    )


@pytest.fixture
def plant() -> InMemoryConnector:
    return InMemoryConnector(InMemoryConnector.Config(
        tags=TAGS, values={"cnc1.vib": 2.0, "cnc1.feed": 100.0, "cnc1.door": False, "cnc1.speed": 3000.0}))
