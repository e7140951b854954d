"""The two-company bilingual set (two_company.yaml): cross-language retrieval, abstention, section-aware chunks.

Floors are pinned at what the default configuration measured when these were written (docs/knowledge.md,
"Two-company set"); the centring share and the abstention threshold were chosen on the dev part only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from factorypilot.knowledge import Answer, KnowledgeStore

KEY: list[dict[str, Any]] = yaml.safe_load((Path(__file__).parent / "two_company.yaml").read_text("utf-8"))


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def answers(two_company_home: Path) -> dict[str, Answer]:
    out: dict[str, Answer] = {}
    for company in ("hanbit", "northgate"):
        with KnowledgeStore.open(company, home=two_company_home) as store:
            for q in KEY:
                if q["company"] == company:
                    out[q["q"]] = store.ask(q["q"], k=5)
    return out


def _found(answers: dict[str, Answer], split: str, direction: str) -> tuple[int, int]:
    qs = [q for q in KEY if q["split"] == split and q["direction"] == direction]
    hits = sum(q["expect"] in [h.citation.file for h in answers[q["q"]].hits] for q in qs)
    return hits, len(qs)


def test_korean_questions_find_english_documents(answers: dict[str, Answer]) -> None:
    # measured 26/32 (0.81; 24/32 before the loanwords, the glossary fix and the BM25 floor); e5-small alone: 1/32
    assert _found(answers, "heldout", "ko->en")[0] >= 29  # 29/32 (26 before the new-file slot)
    assert _found(answers, "dev", "ko->en")[0] >= 14  # 14/16


def test_english_questions_find_korean_documents(answers: dict[str, Answer]) -> None:
    assert _found(answers, "heldout", "en->ko")[0] >= 31  # 31/32
    assert _found(answers, "dev", "en->ko")[0] >= 14  # 14/16


def test_answer_phrase_is_in_a_returned_passage(answers: dict[str, Answer]) -> None:
    """Answer level, not file level: the phrase is in a top-5 hit (with its same-section neighbours)."""
    qs = [q for q in KEY if q["direction"] != "none"]
    ok = [q for q in qs if any(_norm(q["answer"]) in _norm(h.context) for h in answers[q["q"]].hits
                               if h.citation.file == q["expect"])]
    assert len(ok) >= 90, len(ok)  # measured 90/108 (dev 28/36, held-out 62/72)


ROOT_CAUSE = ("보온로 쇳물 튄 사고는 왜 일어났어?", "What was the root cause of the needle hub coming off the syringe?",
              "What was the root cause of the forklift hitting a pedestrian at shipping?",
              "조립실 입자 수 초과 일탈의 근본 원인이 뭐였어요?")


def test_root_cause_answers_come_from_their_section(answers: dict[str, Answer]) -> None:
    """The issue's case: an answer sitting in a "root cause" section was in no top-5 chunk. Sections are chunks of
    their own now, cited with their heading."""
    found = []
    for q in (q for q in KEY if q["q"] in ROOT_CAUSE):
        for h in answers[q["q"]].hits:
            if (h.citation.file == q["expect"] and _norm(q["answer"]) in _norm(h.context)
                    and ("oot cause" in h.citation.section or "근본 원인" in h.citation.section)):
                found.append(q["q"])
                break
    assert len(found) >= 3, found


def test_unanswerable_questions_get_no_answer_and_answerable_ones_still_do(answers: dict[str, Answer]) -> None:
    none = [q for q in KEY if q["direction"] == "none"]
    refused = [q["q"] for q in none if not answers[q["q"]].answerable]
    assert len(refused) >= 7, refused  # measured 7/28 (dev 4/8, held-out 3/20): recall is the weak side
    answerable = [q for q in KEY if q["direction"] != "none"]
    wrongly = [q["q"] for q in answerable if not answers[q["q"]].answerable]
    assert len(wrongly) <= 1, wrongly  # measured 1/108 (with the identifier check reading the hits' metadata)


def test_an_answer_carries_its_decision(answers: dict[str, Answer]) -> None:
    a = answers["What EO gas concentration is used during sterilization?"]  # asked of hanbit: northgate's topic
    assert a.company == "hanbit"
    assert a.threshold == pytest.approx(0.33)
    assert a.answerable == (a.evidence >= a.threshold)
    assert all(h.citation.file != "eo_sterilizer_manual.html" for h in a.hits)  # never the other company's file


def test_every_chunk_has_a_section_path(two_company_home: Path) -> None:
    with KnowledgeStore.open("hanbit", home=two_company_home) as store:
        metas = store._manifest.metas()
    by_file: dict[str, set[str]] = {}
    for m in metas.values():
        by_file.setdefault(m["file"], set()).add(m["section"])
    assert "DCM-800 Operator Manual > 1. Start-up > 1.1 Die preheating" in by_file["dc_machine_manual.md"]
    assert {"CONCENTRATION CONTROL", "PH AND BACTERIA"} <= by_file["coolant_system_maintenance.txt"]
    assert "가공 3라인 CNC 정비 이력 (2025년 상반기) > [MC-33] 2025-01-20" in by_file["가공라인_정비이력.txt"]
    assert "LOG 2025 > 2025-05-19" in by_file["coolant_system_maintenance.txt"]  # a dated log row is a section
    assert any(s.endswith("> Results July 2025") for s in by_file["xray_inspection_record.docx"])
    assert all(sections != {""} for sections in by_file.values()), by_file
