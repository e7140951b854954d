"""The second held-out part of the bilingual set (issue 17, session 6) is consistent with its corpus.

``heldout2_*.yaml`` were written by people who had not seen the retrieval code or its results, and committed
before any of that session's tuning; nothing is tuned on them. Same schema as two_company.yaml (split is always
``heldout2``). No retrieval here: every expected file exists, every answer phrase is in that file, languages match
the direction, and the sizes are what issue 17 asks of a held-out part."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from ._key import check_languages, check_unanswerable_name_no_file, missing_answers

HERE = Path(__file__).parent
FILES = sorted(HERE.glob("heldout2_*.yaml"))
KEY: list[dict[str, Any]] = [q for f in FILES for q in yaml.safe_load(f.read_text("utf-8"))]
OLD = {q["q"] for q in yaml.safe_load((HERE / "two_company.yaml").read_text("utf-8"))}


def test_schema() -> None:
    for q in KEY:
        assert set(q) >= {"company", "split", "direction", "q", "expect", "answer"}, q
        assert q["split"] == "heldout2", q
        assert q["direction"] in ("ko->en", "en->ko", "ko->ko", "en->en", "none"), q
        assert (HERE / "companies" / q["company"]).is_dir(), q


def test_answer_phrases_are_in_the_expected_files() -> None:
    assert missing_answers(KEY) == []


def test_not_a_copy_of_the_answer_nor_of_an_earlier_question() -> None:
    assert [q["q"] for q in KEY if q["answer"] and q["answer"] in q["q"]] == []
    assert [q["q"] for q in KEY if q["q"] in OLD] == []
    assert len({q["q"] for q in KEY}) == len(KEY)


def test_sizes() -> None:
    held = Counter(q["direction"] for q in KEY)
    assert held["ko->en"] >= 30
    assert held["en->ko"] >= 30
    none = Counter(q["company"] for q in KEY if q["direction"] == "none")
    assert none
    assert all(n >= 10 for n in none.values()), none


def test_unanswerable_ones_name_no_file() -> None:
    check_unanswerable_name_no_file(KEY)


def test_languages_match_the_direction() -> None:
    check_languages(KEY)
