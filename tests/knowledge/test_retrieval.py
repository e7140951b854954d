"""Retrieval quality on the labelled bilingual corpus, filters, citations, modes."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from factorypilot.errors import ConfigError
from factorypilot.knowledge import Filters, KnowledgeStore

QUESTIONS: list[dict[str, Any]] = yaml.safe_load((Path(__file__).parent / "questions.yaml").read_text("utf-8"))
SAME_LANGUAGE = [q for q in QUESTIONS if not q["cross"]]
CROSS_LANGUAGE = [q for q in QUESTIONS if q["cross"]]


@pytest.mark.parametrize("item", SAME_LANGUAGE, ids=[q["q"] for q in SAME_LANGUAGE])
def test_expected_source_in_top5(shared_store: KnowledgeStore, item: dict[str, Any]) -> None:
    hits = shared_store.query(item["q"], k=5)
    files = [h.citation.file for h in hits]
    assert item["expect"] in files, f"{item['q']!r} → {files}"


def test_cross_language_recall_floor(shared_store: KnowledgeStore) -> None:
    """Korean question → English document and back. e5-small (q4) is weaker across languages and BM25 cannot
    help, so this pins a floor (measured: see docs/knowledge.md) instead of claiming every one is found."""
    found = [q["expect"] in [h.citation.file for h in shared_store.query(q["q"], k=5)] for q in CROSS_LANGUAGE]
    assert len(CROSS_LANGUAGE) >= 8
    assert sum(found) / len(found) >= 0.5, list(zip([q["q"] for q in CROSS_LANGUAGE], found, strict=True))


def test_docx_hits_carry_heading_section(shared_store: KnowledgeStore) -> None:
    hits = shared_store.query("핫스탬핑 금형 냉각수 온도", k=3)
    top = hits[0]
    assert top.citation.file == "die_maintenance.docx"
    assert top.citation.section == "금형 보전 절차서 > 금형 온도 관리"
    assert "25℃" in top.text


def test_pdf_hits_carry_page(shared_store: KnowledgeStore) -> None:
    hits = shared_store.query("conveyor pull cord emergency stop test", k=3)
    top = hits[0]
    assert (top.citation.file, top.citation.page, top.citation.section) == ("conveyor_manual.pdf", 2, "page 2")
    assert str(top.citation).startswith("conveyor_manual.pdf § page 2 [")


def test_cp949_file_is_decoded(shared_store: KnowledgeStore) -> None:
    hits = shared_store.query("용접 토치 팁", k=1)
    assert hits[0].citation.file == "welding_sop.txt"
    assert "500 회" in hits[0].text


def test_csv_rows_are_cited_by_row_range(shared_store: KnowledgeStore) -> None:
    hits = shared_store.query("압축기 흡입 필터 막힘 정비 이력", k=5)
    csv_hits = [h for h in hits if h.citation.file == "maintenance_log.csv"]
    assert csv_hits
    assert csv_hits[0].citation.section.startswith("rows 2-")


def test_every_hit_has_a_citation_and_ranks(shared_store: KnowledgeStore) -> None:
    hits = shared_store.query("베어링", k=5)
    assert len(hits) == 5
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    for h in hits:
        assert h.citation.chunk_id
        assert h.citation.file
        assert h.citation.source
        assert h.vector_rank is not None or h.bm25_rank is not None


def test_filter_by_equipment(shared_store: KnowledgeStore) -> None:
    hits = shared_store.query("oil leak seal", k=5, filters={"equipment": "CNC-02"})
    assert hits
    assert {h.metadata["equipment"] for h in hits} == {"CNC-02"}


def test_filter_by_doc_type_list(shared_store: KnowledgeStore) -> None:
    hits = shared_store.query("사고 원인", k=10, filters=Filters(doc_type=["incident"]))
    assert {h.citation.file for h in hits} == {"incident_2024_03_coolant.md", "incident_2024_05_robot.md"}


def test_filter_by_date_range(shared_store: KnowledgeStore) -> None:
    flt = Filters(date_from=date(2024, 3, 1), date_to=date(2024, 4, 30))
    hits = shared_store.query("report", k=20, filters=flt)
    assert hits
    assert all(20240301 <= int(h.metadata["date"]) <= 20240430 for h in hits)
    assert {"incident_2024_03_coolant.md", "oee_monthly_report.md"} <= {h.citation.file for h in hits}


def test_unknown_filter_key_is_a_config_error(shared_store: KnowledgeStore) -> None:
    with pytest.raises(ConfigError, match="invalid query filters"):
        shared_store.query("베어링", filters={"machine": "CNC-01"})


def test_filter_that_matches_nothing(shared_store: KnowledgeStore) -> None:
    assert shared_store.query("베어링", filters={"equipment": "NO-SUCH"}) == []


@pytest.mark.parametrize("mode", ["vector", "bm25"])
def test_single_methods(shared_store: KnowledgeStore, mode: str) -> None:
    hits = shared_store.query("lockout tagout padlock", k=3, mode=mode)  # type: ignore[arg-type]
    assert hits[0].citation.file == "sop_lockout.md"
    if mode == "vector":
        assert all(h.bm25_rank is None for h in hits)
    else:
        assert all(h.vector_rank is None for h in hits)


async def test_async_query(shared_store: KnowledgeStore) -> None:
    hits = await shared_store.aquery("cleanroom particle alert limit", k=3)
    assert hits[0].citation.file == "cleanroom_monitoring.txt"


def test_agent_tool_returns_citations(shared_store: KnowledgeStore) -> None:
    tool = shared_store.as_tool(k=3)
    assert tool.name == "search_knowledge"
    assert "company" not in tool.args  # scoped by construction: the model cannot choose a company
    msg = tool.invoke({"type": "tool_call", "id": "call-1", "name": tool.name,
                       "args": {"query": "프레스 유압 저하", "equipment": "PR-2"}})
    assert "press_hydraulic_manual.md" in msg.content
    assert msg.artifact["answerable"] is True
    assert msg.artifact["evidence"] >= msg.artifact["threshold"]
    assert msg.artifact["hits"]
    assert all(a["citation"]["chunk_id"] for a in msg.artifact["hits"])
    assert {a["metadata"]["equipment"] for a in msg.artifact["hits"]} == {"PR-2"}


async def test_agent_tool_async(shared_store: KnowledgeStore) -> None:
    tool = shared_store.as_tool()
    text = await tool.ainvoke({"query": "용접 비드 기공"})
    assert "welding_sop.txt" in text
