"""The two-company answer key (two_company.yaml) is consistent with its corpus: every expected file exists,
every answer phrase is in that file, and the set has the size issue 17 asks for. No retrieval here."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
KEY: list[dict[str, Any]] = yaml.safe_load((HERE / "two_company.yaml").read_text("utf-8"))


def _text(company: str, file: str) -> str:
    path = HERE / "companies" / company / file
    if file.endswith(".docx"):
        path = path.with_name(file + ".src")
    raw = path.read_text("utf-8")
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", raw))


def test_answer_phrases_are_in_the_expected_files() -> None:
    missing = [(q["company"], q["expect"], q["answer"]) for q in KEY if q["direction"] != "none"
               and re.sub(r"\s+", " ", q["answer"]) not in _text(q["company"], q["expect"])]
    assert missing == []


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
    for q in KEY:
        assert (q["direction"] == "none") == (q["expect"] is None), q
        if q["direction"] == "none":
            assert q["why"] in ("other-company", "nowhere"), q


def test_languages_match_the_direction() -> None:
    hangul = re.compile(r"[\uac00-\ud7a3]")
    for q in KEY:
        if q["direction"] == "none":
            continue
        q_lang, doc_lang = q["direction"].split("->")
        assert bool(hangul.search(q["q"])) == (q_lang == "ko"), q["q"]
        assert bool(hangul.search(_text(q["company"], q["expect"]))) == (doc_lang == "ko"), q["expect"]
