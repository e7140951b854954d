"""``FrozenBM25`` (the BM25 index as memory-mapped arrays) answers exactly as the mutable ``BM25Index``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factorypilot.knowledge import KnowledgeStore
from factorypilot.knowledge._bm25 import BM25Index, FrozenBM25

WORDS = ["pump", "seal", "펌프", "씰", "교체", "mc-34", "2000", "alarm", "스핀들", "진동"]
docs_strategy = st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=12), min_size=1, max_size=25)


def _index(docs: list[list[str]]) -> tuple[BM25Index, list[str]]:
    idx = BM25Index()
    ids = [f"c{i:04d}" for i in range(len(docs))]
    for cid, toks in zip(ids, docs, strict=True):
        idx.add(cid, toks)
    return idx, ids


@settings(max_examples=60, deadline=None)
@given(docs=docs_strategy, query=st.lists(st.sampled_from([*WORDS, "absent"]), min_size=1, max_size=6),
       k=st.integers(min_value=1, max_value=30))
def test_frozen_search_and_idf_equal_the_mutable_index(docs: list[list[str]], query: list[str], k: int) -> None:
    idx, ids = _index(docs)
    frozen = idx.freeze(list(reversed(ids)))  # another document order must not change anything
    assert frozen.search(query, k) == idx.search(query, k)
    keep = set(ids[::2])
    assert frozen.search(query, k, keep.__contains__) == idx.search(query, k, keep.__contains__)
    assert all(frozen.idf(t) == idx.idf(t) for t in [*WORDS, "absent"])
    assert sorted(frozen.vocabulary()) == sorted(idx.vocabulary())


@settings(max_examples=30, deadline=None)
@given(docs=docs_strategy)
def test_thaw_gives_back_the_same_index(docs: list[list[str]]) -> None:
    idx, ids = _index(docs)
    back = idx.freeze(ids).thaw()
    assert back._tf == idx._tf
    assert back._postings == idx._postings
    assert back._total_len == idx._total_len


def test_saved_arrays_load_memory_mapped(tmp_path: Path) -> None:
    idx, ids = _index([["pump", "seal"], ["펌프", "씰", "교체"], ["pump", "pump", "alarm"]])
    frozen = idx.freeze(ids)
    frozen.save(tmp_path, ".npy")
    loaded = FrozenBM25.load(tmp_path, ids)
    assert isinstance(loaded.docs, np.memmap)
    assert loaded.search(["pump", "교체"], 3) == idx.search(["pump", "교체"], 3)
    with pytest.raises(ValueError, match="do not match"):
        FrozenBM25.load(tmp_path, ids[:2])


def test_store_opens_the_arrays_and_writes_after_a_thaw(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "pump.md").write_text("# Pump\nReplace the pump seal every 2,000 hours.\n", encoding="utf-8")
    with KnowledgeStore.open("acme", home=tmp_path / "h") as store:
        store.ingest(docs)
    assert (tmp_path / "h" / "companies" / "acme" / "index" / "bm25_docs.npy").is_file()
    with KnowledgeStore.open("acme", home=tmp_path / "h") as store:
        assert isinstance(store._bm25, FrozenBM25)
        assert store.query("pump seal", k=1, mode="bm25")[0].citation.file == "pump.md"
        (docs / "펌프.md").write_text("# 펌프\n펌프 씰은 2,000시간마다 교체한다.\n", encoding="utf-8")
        store.ingest(docs)  # the read-only arrays are thawed before the write
        assert isinstance(store._bm25, BM25Index)
        assert "펌프.md" in {h.citation.file for h in store.query("펌프 씰 교체", k=2, mode="bm25")}
    with KnowledgeStore.open("acme", home=tmp_path / "h") as store:
        assert isinstance(store._bm25, FrozenBM25)
        assert len(store._bm25) == 2
        assert store.delete("pump.md") == 1
        assert [h.citation.file for h in store.query("pump seal", k=5, mode="bm25")] == ["펌프.md"]  # glossary
