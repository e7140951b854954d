"""Checks shared by the answer-key tests (two_company.yaml, heldout2_*.yaml): the key against its corpus."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

COMPANIES = Path(__file__).parent / "companies"
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def text_of(company: str, file: str) -> str:
    """A corpus file's text, tags removed and whitespace folded (a DOCX is read from its ``.docx.src`` form)."""
    path = COMPANIES / company / file
    if file.endswith(".docx"):
        path = path.with_name(file + ".src")
    raw = path.read_text("utf-8")
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", raw))


def missing_answers(key: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(company, file, answer) of every answerable question whose answer phrase is not in its file."""
    return [(q["company"], q["expect"], q["answer"]) for q in key if q["direction"] != "none"
            and re.sub(r"\s+", " ", q["answer"]) not in text_of(q["company"], q["expect"])]


def check_unanswerable_name_no_file(key: list[dict[str, Any]]) -> None:
    for q in key:
        assert (q["direction"] == "none") == (q["expect"] is None), q
        if q["direction"] == "none":
            assert q["why"] in ("other-company", "nowhere"), q


def check_languages(key: list[dict[str, Any]]) -> None:
    """The question is in the direction's first language, the expected file in its second."""
    for q in key:
        if q["direction"] == "none":
            continue
        q_lang, doc_lang = q["direction"].split("->")
        assert bool(_HANGUL.search(q["q"])) == (q_lang == "ko"), q["q"]
        assert bool(_HANGUL.search(text_of(q["company"], q["expect"]))) == (doc_lang == "ko"), q["expect"]
