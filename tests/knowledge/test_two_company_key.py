"""The two-company answer key (two_company.yaml) is consistent with its corpus: every expected file exists,
every answer phrase is in that file, and the set has the size issue 17 asks for. No retrieval here."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from ._key import check_languages, check_unanswerable_name_no_file, missing_answers

HERE = Path(__file__).parent
KEY: list[dict[str, Any]] = yaml.safe_load((HERE / "two_company.yaml").read_text("utf-8"))


def test_answer_phrases_are_in_the_expected_files() -> None:
    assert missing_answers(KEY) == []


def test_question_is_not_a_copy_of_the_answer() -> None:
    assert [q["q"] for q in KEY if q["answer"] and q["answer"] in q["q"]] == []


def test_sizes() -> None:
    held = Counter(q["direction"] for q in KEY if q["split"] == "heldout")
    assert held["ko->en"] >= 30
    assert held["en->ko"] >= 30
    none_held = Counter(q["company"] for q in KEY if q["split"] == "heldout" and q["direction"] == "none")
    assert none_held == {"hanbit": 10, "northgate": 10}
    dev = Counter(q["direction"] for q in KEY if q["split"] == "dev")
    assert dev["none"] >= 6
    assert dev["ko->en"] >= 10
    assert dev["en->ko"] >= 10


def test_unanswerable_ones_name_no_file() -> None:
    check_unanswerable_name_no_file(KEY)


def test_languages_match_the_direction() -> None:
    check_languages(KEY)
