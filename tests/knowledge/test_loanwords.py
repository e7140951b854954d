"""Loanwords learned from the company's vocabulary (_loanwords.py) and their use in BM25 query expansion."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factorypilot.knowledge import KnowledgeConfig, KnowledgeStore
from factorypilot.knowledge._loanwords import LoanwordIndex, english_skeleton, hangul_skeleton

PAIRS = [("스핀들", "spindle"), ("베어링", "bearing"), ("필터", "filter"), ("파우치", "pouch"), ("스크류", "screw"),
         ("노즐", "nozzle"), ("실린더", "cylinder"), ("밸브", "valve"), ("센서", "sensor"), ("브릭스", "brix"),
         ("호이스트", "hoist"), ("컨베이어", "conveyor"), ("컴프레서", "compressor"), ("파티클", "particle")]


@pytest.mark.parametrize(("hangul", "english"), PAIRS)
def test_loanword_and_its_english_word_share_a_skeleton(hangul: str, english: str) -> None:
    assert hangul_skeleton(hangul) == english_skeleton(english) != ""


def test_expand_finds_the_company_words_a_question_spells() -> None:
    index = LoanwordIndex(["spindle", "bearing", "pouch", "screw", "check", "ring", "july", "seal", "cycle"])
    assert index.expand("스핀들 베어링 소음이 커요") == ["bearing", "spindle"]
    assert index.expand("파우치를 어디에 보관해?") == ["pouch"]  # particle 를 stripped
    assert {"check", "ring", "screw"} <= set(index.expand("스크류 체크링 간극"))  # one Hangul word for two English
    # native words whose consonants happen to match are not taken: 주조 (casting) ~ july, 시간 (time)
    assert index.expand("주조를 몇 시간 해요?") == []
    assert index.expand("호스") == []  # two consonants in two syllables: too short to trust
    assert index.expand("spindle bearing") == []  # only Hangul words are expanded


@given(st.text(max_size=40))
def test_expand_never_fails(text: str) -> None:
    index = LoanwordIndex(["spindle", "filter", "pouch", "ring"])
    out = index.expand(text)
    assert out == sorted(set(out))
    assert set(out) <= {"spindle", "filter", "pouch", "ring"}


@given(st.text(alphabet=st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3), max_size=8))
def test_skeletons_of_any_hangul_are_latin(word: str) -> None:
    assert hangul_skeleton(word).isascii()


def test_store_expands_korean_questions_with_english_document_words(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "press.md").write_text("# Injection press\n\nReplace the screw check ring when the clearance exceeds "
                                   "0.35 mm.\n", encoding="utf-8")
    (docs / "pack.md").write_text("# Packaging\n\nStore sterile pouches at 15-25 °C for at most 12 months.\n",
                                  encoding="utf-8")
    with KnowledgeStore.open("acme", home=tmp_path / "home") as store:
        store.ingest(docs)
        tokens = store._query_tokens("스크류 체크링 간극 한계")
        assert {"screw", "check", "ring"} <= set(tokens)
        hits = store.query("스크류 체크링 간극 한계", k=1, mode="bm25")
        assert hits[0].citation.file == "press.md"
        assert "clearance" in store._query_tokens("스크류 체크링 간극 한계")  # glossary 간극 -> clearance
    with KnowledgeStore.open("acme", home=tmp_path / "home", config=KnowledgeConfig(loanwords=False)) as store:
        assert not {"screw", "check", "ring"} & set(store._query_tokens("스크류 체크링 간극 한계"))


def test_glossary_words_of_three_syllables_expand_with_bigram_tokens(tmp_path: Path) -> None:
    """Bigram tokens never equal 절삭유; the glossary is looked up in the question's text."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "coolant.txt").write_text("COOLANT\nKeep the coolant concentration between 7 and 9 percent.\n",
                                      encoding="utf-8")
    with KnowledgeStore.open("acme", home=tmp_path / "home") as store:
        store.ingest(docs)
        assert store.config.tokenizer == "ngram"
        assert "coolant" in store._query_tokens("절삭유 농도 기준")
