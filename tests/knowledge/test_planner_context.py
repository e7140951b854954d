"""'Not answerable' reaches the agent: the pilot's retriever marks weak hits, the LLM planner's context says the
documents hold no answer instead of quoting them as one."""

from __future__ import annotations

from pathlib import Path

import pytest

from factorypilot.agents.planners._llm_prompt import render_context
from factorypilot.agents.planners.base import PlanContext
from factorypilot.knowledge import KnowledgeStore
from factorypilot.pilots.runtime import KnowledgeRetriever


async def test_weak_evidence_is_marked_in_the_planner_context(two_company_home: Path) -> None:
    store = KnowledgeStore.open("hanbit", home=two_company_home)
    retriever = KnowledgeRetriever(store)
    weak = await retriever.search("How many days of annual leave do new employees get?", k=3)
    strong = await retriever.search("수용성 절삭유 농도는 몇 %로 맞춰야 돼?", k=3)
    store.close()
    assert weak
    assert {h["answerable"] for h in weak} == {False}
    assert {h["answerable"] for h in strong} == {True}
    text = render_context(PlanContext(run_id="r1", events=[], knowledge=weak))
    assert text.count("NOT AN ANSWER") == len(weak)
    assert "NOT AN ANSWER" not in render_context(PlanContext(run_id="r2", events=[], knowledge=strong))


async def test_local_model_judge_reaches_the_planner_context(two_company_home: Path) -> None:
    from factorypilot.knowledge._assist import LLMAssist, chat_model_fn
    from factorypilot.testing import FakeChatModel

    fake = FakeChatModel(script=['{"passage": 0, "answered": false}'])
    assist = LLMAssist(chat_model_fn(fake, timeout_s=5), name="fake", translate=False)
    store = KnowledgeStore.open("hanbit", home=two_company_home, assist=assist)
    hits = await KnowledgeRetriever(store).search("수용성 절삭유 농도는 몇 %로 맞춰야 돼?", k=3)
    store.close()
    assert hits
    assert {(h["answerable"], h.get("why")) for h in hits} == {(False, "judged by the local model")}
    text = render_context(PlanContext(run_id="r3", events=[], knowledge=hits))
    assert text.count("NOT AN ANSWER") == len(hits)
    assert text.count("judged by the local model") == len(hits)  # the planner sees why, not only that
    assert fake.calls == 1


async def test_pilot_knowledge_uses_the_local_model_only_when_set(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """FACTORYPILOT_KNOWLEDGE_LLM=true: the pilot's store gets the assist built from the planner settings (the chat
    model replaced by the fake: no network); unset, the store has none."""
    from factorypilot.agents import knowledge_llm
    from factorypilot.pilots.runtime import _knowledge, resolve_spec
    from factorypilot.settings import get_settings
    from factorypilot.testing import FakeChatModel

    spec, path = resolve_spec("mobility")
    monkeypatch.setattr(knowledge_llm, "make_chat_model", lambda cfg: FakeChatModel(model_name="pilot-judge"))
    monkeypatch.setenv("FACTORYPILOT_LLM_MODEL", "x")
    for flag, expected in (("false", None), ("true", "pilot-judge")):
        monkeypatch.setenv("FACTORYPILOT_KNOWLEDGE_LLM", flag)
        get_settings.cache_clear()
        retriever = await _knowledge(spec, path, "mobility", tmp_path / flag)
        assert retriever is not None
        assist = retriever.store.assist
        assert (assist.name if assist is not None else None) == expected
        retriever.store.close()
    get_settings.cache_clear()
