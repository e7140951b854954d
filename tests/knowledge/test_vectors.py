"""The exact in-memory vector index (ExactIndex) and the store's use of it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from factorypilot.knowledge import KnowledgeConfig, KnowledgeStore
from factorypilot.knowledge._vectors import ExactIndex


def _index() -> ExactIndex:
    idx = ExactIndex(3)
    idx.add(["x", "y", "z"], np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [1.0, 1.0, 0.0]], dtype=np.float32))
    return idx


def test_cosine_order_and_scores() -> None:
    hits = _index().search([1.0, 0.2, 0.0], k=3)
    assert [c for c, _ in hits] == ["x", "z", "y"]
    assert hits[0][1] == pytest.approx(1 / np.sqrt(1.04))  # vectors are normalised: scores are cosines
    assert hits[2][1] == pytest.approx(0.2 / np.sqrt(1.04))


def test_k_filter_replace_remove() -> None:
    idx = _index()
    assert [c for c, _ in idx.search([1.0, 0.2, 0.0], k=1)] == ["x"]
    assert [c for c, _ in idx.search([1.0, 0.2, 0.0], k=5, allow=lambda c: c != "x")] == ["z", "y"]
    assert idx.search([1.0, 0.0, 0.0], k=5, allow=lambda c: False) == []
    idx.add(["x"], [[0.0, 0.0, 1.0]])  # replaced, not duplicated
    assert len(idx) == 3
    assert idx.search([1.0, 0.2, 0.0], k=3)[0][0] == "z"
    idx.remove(["z", "nope"])
    assert len(idx) == 2
    assert [c for c, _ in idx.search([0.0, 0.0, 1.0], k=5)] == ["x", "y"]
    assert ExactIndex(3).search([1.0, 0.0, 0.0], k=5) == []


def test_ties_are_broken_by_id() -> None:
    idx = ExactIndex(2)
    idx.add(["b", "a", "c"], [[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]])
    assert [c for c, _ in idx.search([1.0, 0.0], k=2)] == ["a", "b"]


def test_exact_index_survives_reopen_and_matches_hnsw_top1(tmp_path: Path, corpus_dir: Path) -> None:
    """Rebuilt from Chroma on open; on a tiny store HNSW is exact too, so both agree on the best chunk."""
    with KnowledgeStore.open("acme", home=tmp_path) as store:
        store.ingest([corpus_dir / "sop_lockout.md", corpus_dir / "cnc_spindle_manual.md"])
        first = store.query("padlock and tag", k=3, mode="vector")
    with KnowledgeStore.open("acme", home=tmp_path) as store:
        again = store.query("padlock and tag", k=3, mode="vector")
        assert [h.citation.chunk_id for h in again] == [h.citation.chunk_id for h in first]
        assert again[0].citation.file == "sop_lockout.md"
        store.delete("sop_lockout.md")
        assert {h.citation.file for h in store.query("padlock and tag", k=3, mode="vector")} == {
            "cnc_spindle_manual.md"}
    with KnowledgeStore.open("acme", home=tmp_path, config=KnowledgeConfig(vector_index="hnsw")) as store:
        assert store.query("베어링 교체 주기", k=1, mode="vector")[0].citation.file == "cnc_spindle_manual.md"
