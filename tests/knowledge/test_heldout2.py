"""The second held-out part (heldout2_*.yaml; issue 17, session 6): new questions on hanbit and northgate and a
third company, daeyang, none of it seen before the session's choices were made. Floors are what the default
configuration measured on this part (docs/knowledge.md, "Second held-out part": a first run, then once more after
a change to plain-text sections chosen on the other parts); nothing was tuned on it. The issue's goals are
asserted as such: Korean questions about English documents find the right file in the top 5 for ≥ 90 %, and the
hybrid is at least as good as each of its two methods."""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from factorypilot.knowledge import Answer, KnowledgeStore

HERE = Path(__file__).parent
KEY: list[dict[str, Any]] = [q for f in sorted(HERE.glob("heldout2_*.yaml"))
                             for q in yaml.safe_load(f.read_text("utf-8"))]
COMPANIES = ("hanbit", "northgate", "daeyang")


@pytest.fixture(scope="module")
def home(two_company_home: Path, tmp_path_factory: pytest.TempPathFactory,
         company_corpus_builder: Callable[[Path, str], Path]) -> Path:
    """The two-company home copied (it is read-only for tests) plus daeyang's store."""
    base = tmp_path_factory.mktemp("heldout2")
    dest = base / "home"
    shutil.copytree(two_company_home, dest)
    with KnowledgeStore.open("daeyang", home=dest) as store:
        report = store.ingest(company_corpus_builder(base / "docs", "daeyang"))
        assert not report.failed, report.failed
    return dest


@pytest.fixture(scope="module")
def answers(home: Path) -> dict[str, Answer]:
    out: dict[str, Answer] = {}
    for company in COMPANIES:
        with KnowledgeStore.open(company, home=home) as store:
            for q in (q for q in KEY if q["company"] == company):
                out[q["q"]] = store.ask(q["q"], k=5)
    return out


def _in_top5(files: list[str], q: dict[str, Any]) -> bool:
    return q["expect"] in files[:5]


def test_daeyang_is_stored_whole_with_sections(home: Path) -> None:
    with KnowledgeStore.open("daeyang", home=home) as store:
        assert len(store.files()) == 10
        metas = store._manifest.metas()
    by_file: dict[str, set[str]] = {}
    for m in metas.values():
        by_file.setdefault(m["file"], set()).add(m.get("section", ""))
    assert len(by_file) == 10
    assert all("" not in sections for sections in by_file.values()), by_file
    # the MES log export has no heading lines: its title line heads the path and each dated row is a section
    log = by_file["용접셀_정비이력_2026.txt"]
    assert "용접셀 정비이력 조회 (MES 출력) > 2026.03.06 2호기" in log
    assert "용접셀 정비이력 조회 (MES 출력) > 2026.05.08 1,2호기" in log
    assert ("DAEYANG PRECISION - QUALITY PROCEDURE QP-CAL-05 rev.2 > 4. METHOD - CLICK WRENCHES"
            in by_file["torque_tool_calibration_procedure.txt"])


def test_korean_questions_find_english_documents(answers: dict[str, Answer]) -> None:
    qs = [q for q in KEY if q["direction"] == "ko->en"]
    found = [q["q"] for q in qs if _in_top5([h.citation.file for h in answers[q["q"]].hits], q)]
    assert len(found) >= math.ceil(0.9 * len(qs)), (len(found), len(qs))  # the goal: ≥ 0.9; measured 64/69


def test_english_questions_find_korean_documents(answers: dict[str, Answer]) -> None:
    qs = [q for q in KEY if q["direction"] == "en->ko"]
    found = [q["q"] for q in qs if _in_top5([h.citation.file for h in answers[q["q"]].hits], q)]
    assert len(found) >= 69, (len(found), len(qs))  # measured 69/75


def test_hybrid_is_not_worse_than_either_method(home: Path) -> None:
    qs = [q for q in KEY if q["direction"] != "none"]
    found = dict.fromkeys(("hybrid", "vector", "bm25"), 0)
    for company in COMPANIES:
        with KnowledgeStore.open(company, home=home) as store:
            for q in (q for q in qs if q["company"] == company):
                for mode in found:
                    files = [h.citation.file for h in store.query(q["q"], k=5, mode=mode)]  # type: ignore[arg-type]
                    found[mode] += _in_top5(files, q)
    assert found["hybrid"] >= found["vector"], found
    assert found["hybrid"] >= found["bm25"], found
    assert found["hybrid"] >= 141, found  # measured 141/152 (vector 139, BM25 102)


def test_abstention_on_unseen_questions(answers: dict[str, Answer]) -> None:
    """Measured, not a goal met: the score rule catches few unanswerable questions here (see docs)."""
    none = [q for q in KEY if q["direction"] == "none"]
    refused = [q["q"] for q in none if not answers[q["q"]].answerable]
    assert len(refused) >= 4, refused  # measured 4/30
    wrongly = [q["q"] for q in KEY if q["direction"] != "none" and not answers[q["q"]].answerable]
    assert len(wrongly) <= 2, wrongly  # measured 2/152
