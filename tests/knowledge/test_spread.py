"""The last places of the top k go to files not shown yet (``spread``, KnowledgeConfig.new_file_slots)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from factorypilot.knowledge import KnowledgeConfig, KnowledgeStore
from factorypilot.knowledge._retrieve import file_of, spread


def _r(*ids: str) -> list[tuple[str, float]]:
    return [(c, 1.0 - i / 100) for i, c in enumerate(ids)]


def test_the_fifth_place_goes_to_the_best_chunk_of_an_unseen_file() -> None:
    ranked = _r("a-0001", "a-0002", "a-0003", "b-0001", "a-0004", "c-0001", "b-0002")
    got = [c for c, _ in spread(ranked, 5, 1)]
    assert got == ["a-0001", "a-0002", "a-0003", "b-0001", "c-0001", "a-0004", "b-0002"]


def test_two_slots_take_two_new_files_in_rank_order() -> None:
    ranked = _r("a-0001", "a-0002", "a-0003", "a-0004", "a-0005", "b-0001", "a-0006", "c-0001")
    got = [c for c, _ in spread(ranked, 5, 2)]
    assert got[:5] == ["a-0001", "a-0002", "a-0003", "b-0001", "c-0001"]


def test_without_an_unseen_file_the_ranking_stays() -> None:
    ranked = _r("a-0001", "b-0001", "a-0002", "b-0002", "a-0003", "b-0003")
    assert spread(ranked, 5, 1) == ranked
    assert spread(ranked, 5, 0) == ranked
    assert spread(ranked[:5], 5, 1) == ranked[:5]  # nothing beyond k to draw from


@given(st.lists(st.tuples(st.sampled_from("abcd"), st.integers(0, 30)), unique=True, max_size=25),
       st.integers(1, 8), st.integers(0, 3))
def test_spread_is_a_permutation_that_keeps_the_head(pairs: list[tuple[str, int]], k: int, slots: int) -> None:
    ranked = _r(*(f"{f}-{i:04d}" for f, i in pairs))
    got = spread(ranked, k, slots)
    assert sorted(got) == sorted(ranked)
    head = max(0, k - slots) if slots < k else k
    assert got[:head] == ranked[:head]
    if 0 < slots < k < len(ranked):  # a file among the rest not in the head → the first slot shows one
        head_files = {file_of(c) for c, _ in ranked[:head]}
        if any(file_of(c) not in head_files for c, _ in ranked[head:]):
            assert file_of(got[head][0]) not in head_files

def test_store_query_shows_more_documents(tmp_path: Path) -> None:
    """A real store: a long manual whose many chunks all match fills the plain top 5; with a new-file slot the
    short note on the same subject is shown too, and what is stored is not changed."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "manual.md").write_text("# Spindle manual\n\n" + "\n\n".join(
        f"## Section {i}\n\nSpindle bearing check {i}: measure spindle vibration and bearing temperature "
        f"on the spindle housing, step {i}." for i in range(12)), encoding="utf-8")
    (docs / "note.md").write_text("# Shift note\n\nSpindle bearing replaced after high vibration on line 2.\n",
                                  encoding="utf-8")
    home = tmp_path / "home"
    with KnowledgeStore.open("acme", home=home, config=KnowledgeConfig(new_file_slots=0)) as plain:
        plain.ingest(docs)
        before = [h.citation.file for h in plain.query("spindle bearing vibration check", k=5)]
    with KnowledgeStore.open("acme", home=home) as store:
        after = [h.citation.file for h in store.query("spindle bearing vibration check", k=5)]
        assert store.stats().chunks >= 13
    assert set(before) == {"manual.md"}
    assert after[:4] == before[:4]
    assert after[4] == "note.md"
