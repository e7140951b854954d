"""Abstention on identifiers: a question naming a tag, lot or report number that no returned passage holds is not
answerable (``missing_identifiers`` in ``_abstain.py``), whatever the scores say."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factorypilot.knowledge import KnowledgeConfig, KnowledgeStore
from factorypilot.knowledge._abstain import identifiers, missing_identifiers


def test_identifiers_are_tags_lots_and_report_numbers() -> None:
    text = ("MC-34 and lot 25E207, DR-0931, CP-2025-22, SUS304, PR-7 at 10mm, pH7, CO2, M10, M-10, 3rd shift, "
            "X-axis, e5-small")
    assert identifiers(text) == ["MC-34", "25E207", "DR-0931", "CP-2025-22", "SUS304", "PR-7"]


def test_identifier_ends_at_hangul() -> None:
    assert identifiers("MC-34에서 악취 났을 때") == ["MC-34"]


def test_spelling_of_an_identifier_does_not_matter() -> None:
    assert missing_identifiers("MC-34 smell", ["operators at mc34;"]) == []
    assert missing_identifiers("mc 34 냄새", ["[MC-34] 2025-05-19"]) == []


def test_identifier_inside_a_range_of_the_document_is_present() -> None:
    passages = ["대상 설비: 수평형 머시닝센터 MC-31 ~ MC-38"]
    assert missing_identifiers("MC-35 절삭유 농도", passages) == []
    assert missing_identifiers("MC-35 coolant", ["CNC cells MC-31 to MC-38"]) == []
    assert missing_identifiers("MC-41 절삭유 농도", passages) == ["MC-41"]
    assert missing_identifiers("IM-35 절삭유 농도", passages) == ["IM-35"]  # other letters: another machine


def test_nearby_number_is_missing() -> None:
    assert missing_identifiers("How many syringes of lot 25E208 were recalled?", ["lot 25E207 recalled"]) == ["25E208"]


@given(prefix=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=4),
       number=st.integers(min_value=10, max_value=99999), sep=st.sampled_from(["-", "", " ", "_"]))
def test_tag_written_in_the_passage_is_never_missing(prefix: str, number: int, sep: str) -> None:
    tag = f"{prefix}-{number}"
    assert identifiers(f"{tag} 점검 주기") == [tag]
    assert missing_identifiers(f"{tag} 점검 주기", [f"설비 {prefix.lower()}{sep}{number} 점검"]) == []


@pytest.mark.parametrize(("company", "question", "missing"), [
    ("hanbit", "MC-41 스핀들 베어링은 언제 교체했어?", ["MC-41"]),  # the line has MC-31 ~ MC-38
    ("hanbit", "What caused the porosity on DCM-900 castings?", ["DCM-900"]),  # the machine is DCM-800
    ("northgate", "How many syringes of lot 25E311 were recalled?", ["25E311"]),  # the recalled lot is 25E207
    ("northgate", "IM-09 금형 바꾼 뒤 처음 몇 샷을 버려요?", ["IM-09"]),  # presses IM-01 .. IM-06
])
def test_question_about_an_absent_identifier_is_not_answerable(two_company_home: Path, company: str,
                                                               question: str, missing: list[str]) -> None:
    with KnowledgeStore.open(company, home=two_company_home) as store:
        answer = store.ask(question, k=5)
    assert not answer.answerable
    assert answer.missing == missing
    assert answer.hits  # the closest passages are still returned, marked as not an answer


@pytest.mark.parametrize(("company", "question"), [
    ("hanbit", "MC-34에서 악취 났을 때 어떻게 조치했나요"),
    ("hanbit", "blast time for EH-40 housings"),
    ("northgate", "How many syringes of lot 25E207 were recalled?"),
])
def test_question_about_a_present_identifier_is_still_answered(two_company_home: Path, company: str,
                                                               question: str) -> None:
    with KnowledgeStore.open(company, home=two_company_home) as store:
        answer = store.ask(question, k=5)
    assert answer.missing == []
    assert answer.answerable


def test_identifier_check_can_be_turned_off(two_company_home: Path) -> None:
    question = "MC-41 스핀들 베어링은 언제 교체했어?"
    with KnowledgeStore.open("hanbit", home=two_company_home) as store:
        on = store.ask(question, k=5)
    cfg = KnowledgeConfig(identifier_check=False)
    with KnowledgeStore.open("hanbit", home=two_company_home, config=cfg) as store:
        off = store.ask(question, k=5)
    assert off.missing == []
    assert off.evidence == on.evidence
    assert off.answerable == (off.evidence >= off.threshold)


@pytest.fixture(scope="module")
def tagged_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Documents whose tag is written only in the front matter, the file name, the title or a heading — the way
    `knowledge ingest --equipment CNC-01` and most manuals attach a machine to their text."""
    base = tmp_path_factory.mktemp("tagged")
    docs = base / "docs"
    docs.mkdir()
    (docs / "스핀들.md").write_text("---\nequipment: CNC-01\n---\n# 진동\n스핀들 진동이 7.1 mm/s를 넘으면 정지한다.\n",
                                   encoding="utf-8")
    (docs / "deviation_DR-0931.md").write_text(
        "# Deviation report\n\n## Root cause\nThe particle counter alarm was muted during the night shift, so the "
        "excursion was noticed only at the morning review.\n", encoding="utf-8")
    (docs / "press.md").write_text(
        "---\ntitle: PR-2 hydraulic press manual\n---\n# Ram seal\nReplace the ram seal when oil appears on the "
        "platen.\n", encoding="utf-8")
    (docs / "compressor.md").write_text(
        "# AC-1 air compressor\n\n## Drain\nOpen the condensate drain valve at the start of every shift.\n",
        encoding="utf-8")
    with KnowledgeStore.open("acme", home=base / "home") as store:
        assert not store.ingest(docs).failed
    return base / "home"


# answer key, written before the check looked beyond the passage text (then the first three were refused):
# (question, answerable, missing)
TAGGED = [
    ("CNC-01 스핀들 진동 정지 기준은?", True, []),  # front matter `equipment:`
    ("Why was the particle alarm on DR-0931 noticed late?", True, []),  # the file name
    ("When is the PR-2 ram seal replaced?", True, []),  # the front matter `title:`
    ("How often is the AC-1 condensate drain opened?", True, []),  # the heading above the section
    ("CNC-02 스핀들 진동 정지 기준은?", False, ["CNC-02"]),
    ("When is the PR-3 ram seal replaced?", False, ["PR-3"]),
    ("How often is the AC-2 condensate drain opened?", False, ["AC-2"]),
]


@pytest.mark.parametrize(("question", "answerable", "missing"), TAGGED)
def test_identifier_of_the_document_counts(tagged_home: Path, question: str, answerable: bool,
                                           missing: list[str]) -> None:
    with KnowledgeStore.open("acme", home=tagged_home) as store:
        answer = store.ask(question, k=3)
    assert answer.missing == missing
    if missing:
        assert not answer.answerable
