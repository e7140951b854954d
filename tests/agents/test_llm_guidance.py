"""What a small model is told so it can act: the write window, the plant's procedure, and the no-op retry.

Real runtime with an in-memory plant and the library's fake chat model (no model server)."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, ToolMessage

from factorypilot.agents import PlaybookPlanner
from factorypilot.agents.planners._llm_guidance import no_op_error, procedure_lines, window_text, write_window
from factorypilot.agents.planners.base import PlanContext
from factorypilot.agents.planners.llm import LLMPlanner
from factorypilot.connectors import InMemoryConnector
from factorypilot.testing import FakeChatModel, tool_call
from factorypilot.vocabulary import Event, Sample, Severity

from .conftest import make_config
from .test_llm_planner import GOOD_PLAN, decisions, run

RULE: dict[str, float | None] = {"min": 60.0, "max": 110.0, "max_step": 20.0}
NO_OP = AIMessage("", tool_calls=[tool_call(
    "propose_plan", diagnosis="vibration high",
    actions=[{"kind": "write", "target": "feed_override", "value": "100.0", "reason": "keep"}])])


def test_write_window_is_the_allowed_range_narrowed_by_the_step() -> None:
    assert write_window(RULE, 100.0) == (80.0, 110.0)
    assert write_window(RULE, 60.0) == (60.0, 80.0)
    assert write_window({"min": 60.0, "max": 110.0}, 100.0) == (60.0, 110.0)  # no max_step: the whole range
    assert window_text(RULE, 100.0) == "in [80, 110] and not 100 (the current value)"


def test_no_op_message_names_the_way_out_and_both_directions() -> None:
    msg = no_op_error("feed_override", 100.0, RULE)
    assert msg.startswith("feed_override is already 100: writing 100 changes nothing.")
    assert "set escalate=true" in msg
    assert "lower it to a value in [80, 100)" in msg
    assert "raise it to a value in (100, 110]" in msg
    at_floor = no_op_error("feed_override", 60.0, RULE)
    assert "lower it" not in at_floor
    assert "raise it to a value in (60, 80]" in at_floor
    stuck = no_op_error("x", 5.0, {"min": 5.0, "max": 5.0})
    assert "x cannot change now" in stuck


def _ctx(feed: float) -> PlanContext:
    ev = Event(id="e1", tag_id="cnc1.vib", role="spindle_vibration", kind="threshold", detector="threshold",
               severity=Severity.WARNING, message="spindle_vibration = 5.5 beyond limit 4", value=5.5)
    return PlanContext(run_id="r1", events=[ev], roles=make_config().roles,
                       current={"cnc1.feed": Sample(tag_id="cnc1.feed", value=feed)},
                       write_rules={"cnc1.feed": RULE})


def test_procedure_states_the_absolute_value_and_stops_at_its_limit() -> None:
    pbs = make_config().playbooks
    [line] = procedure_lines(pbs, _ctx(100.0))
    assert 'DATA‹"vibration-high"›' in line
    assert "write feed_override = 85 (lower by 15 from 100, not below 60)" in line
    assert 'note maintenance: DATA‹"inspect tool"›' in line
    [at_floor] = procedure_lines(pbs, _ctx(60.0))
    assert "no write to feed_override: it is already at the procedure's limit 60" in at_floor
    assert procedure_lines(pbs, PlanContext(run_id="r2", events=[])) == []


async def test_no_op_write_is_sent_back_once_then_the_corrected_plan_acts(plant: InMemoryConnector,
                                                                          tmp_path: Path) -> None:
    fake = FakeChatModel(script=[NO_OP, GOOD_PLAN])
    config = make_config()
    out, rt = await run(plant, tmp_path, LLMPlanner(fake, fallback=PlaybookPlanner(config.playbooks),
                                                    max_retries=1), config)
    assert out.status == "done", out.report
    assert plant.writes == [("cnc1.feed", 85.0)]
    answer = fake.received[1][-1]
    assert isinstance(answer, ToolMessage)
    assert answer.status == "error"
    assert "feed_override is already 100" in str(answer.content)
    assert "lower it to a value in [80, 100)" in str(answer.content)
    [dec] = decisions(rt, out.run_id)
    assert dec["source"] == "llm-after-retry"
    # the first prompt showed the window and the plant's procedure
    first = str(fake.received[0][1].content)
    assert "a write now must be in [80, 110] and not 100 (the current value)" in first
    assert "PROCEDURE" in first
    assert "write feed_override = 85" in first


async def test_no_op_twice_falls_back_and_nothing_no_op_is_written(plant: InMemoryConnector,
                                                                    tmp_path: Path) -> None:
    fake = FakeChatModel(script=[NO_OP, NO_OP])
    config = make_config()
    out, rt = await run(plant, tmp_path, LLMPlanner(fake, fallback=PlaybookPlanner(config.playbooks),
                                                    max_retries=1), config)
    [dec] = decisions(rt, out.run_id)
    assert dec["source"] == "fallback"
    assert "already 100" in str(fake.received[1][-1].content)  # the retry was told why
    assert dec["planner"] == "llm>playbook"
    assert plant.writes == [("cnc1.feed", 85.0)]  # the playbook's write, not the model's no-op


def test_a_note_written_in_the_note_tools_words_means_target_and_value() -> None:
    from pydantic import ValidationError

    from factorypilot.agents.planners._llm_tools import PlannedAction

    note = PlannedAction.model_validate({"kind": "note", "topic": "maintenance", "text": "공구 점검"})
    assert (note.target, note.value) == ("maintenance", "공구 점검")
    # the plan's own keys win; the tool's words are then extra and refused, as is any other stray key
    with pytest.raises(ValidationError, match="topic"):
        PlannedAction.model_validate({"kind": "note", "target": "quality", "topic": "maintenance", "value": "x"})
    with pytest.raises(ValidationError, match="text"):
        PlannedAction.model_validate({"kind": "write", "target": "feed_override", "text": "85"})


async def test_a_plan_whose_note_uses_the_note_tools_words_is_the_models_own(plant: InMemoryConnector,
                                                                             tmp_path: Path) -> None:
    plan = AIMessage("", tool_calls=[tool_call(
        "propose_plan", diagnosis="주축 진동 상승: 이송 감소",
        actions=[{"kind": "write", "target": "feed_override", "value": 85, "reason": "절삭 부하 감소"},
                 {"kind": "note", "topic": "maintenance", "text": "주축 베어링 점검"}])])
    fake = FakeChatModel(script=[plan])
    config = make_config()
    out, rt = await run(plant, tmp_path, LLMPlanner(fake, fallback=PlaybookPlanner(config.playbooks),
                                                    max_retries=0), config)
    [dec] = decisions(rt, out.run_id)
    assert dec["source"] == "llm"
    notes = [a for a in dec["actions"] if a["kind"] == "note"]
    assert [(n["target"], n["value"]) for n in notes] == [("maintenance", "주축 베어링 점검")]
