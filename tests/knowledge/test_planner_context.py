"""'Not answerable' reaches the agent: the pilot's retriever marks weak hits, the LLM planner's context says the
documents hold no answer instead of quoting them as one."""

from __future__ import annotations

from pathlib import Path

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
    assert fake.calls == 1
