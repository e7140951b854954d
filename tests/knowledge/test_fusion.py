"""Fusion functions (weighted RRF, convex combination of normalised scores) and their configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from factorypilot.knowledge import KnowledgeConfig, KnowledgeStore
from factorypilot.knowledge._retrieve import convex, fuse, normalize, rrf


def test_rrf_known_order() -> None:
    fused = rrf([["a", "b", "c"], ["c", "d"]], k=60)
    assert [c for c, _ in fused] == ["c", "a", "b", "d"]
    assert fused[0][1] == pytest.approx(1 / 63 + 1 / 61)
    assert fused[1][1] == pytest.approx(1 / 61)


def test_weighted_rrf_follows_the_heavier_list() -> None:
    # equal weights: "x" (1st and 3rd) beats "y" (2nd and 2nd)? 1/11 + 1/13 > 2/12, so yes
    assert rrf([["x", "y"], ["z", "y", "x"]], k=10)[0][0] == "x"
    fused = rrf([["x", "y"], ["z", "y", "x"]], k=10, weights=[0.05, 0.95])
    assert [c for c, _ in fused] == ["z", "y", "x"]


def test_rrf_weight_count_must_match() -> None:
    with pytest.raises(ValueError, match="2 weights for 1 rankings"):
        rrf([["a"]], weights=[0.5, 0.5])


def test_minmax_and_theoretical_min_normalisation() -> None:
    scored = [("a", 10.0), ("b", 6.0), ("c", 2.0)]
    assert normalize(scored, "minmax") == {"a": 1.0, "b": 0.5, "c": 0.0}
    assert normalize(scored, "tmm", theoretical_min=0.0) == {"a": 1.0, "b": 0.6, "c": 0.2}
    cos = normalize([("a", 0.8), ("b", 0.6)], "tmm", theoretical_min=-1.0)
    assert cos == {"a": 1.0, "b": pytest.approx(1.6 / 1.8)}
    assert normalize([("a", 3.0), ("b", 3.0)], "minmax") == {"a": 1.0, "b": 1.0}
    assert normalize([], "minmax") == {}


def test_convex_keeps_score_gaps_that_rrf_loses() -> None:
    """BM25 is sure about "doc" (far ahead); the vector list is flat (0.84 vs 0.83) with a near-duplicate first.
    Equal-weight RRF and min-max (which stretches the flat list to [0, 1]) rank the near-duplicate first; the
    theoretical-min normalisation keeps the vector margin small and "doc" on top."""
    vector = [("near-dup", 0.84), ("other", 0.835), ("doc", 0.83)]
    bm25 = [("doc", 20.0), ("near-dup", 4.0), ("other", 3.0)]
    assert rrf([[c for c, _ in vector], [c for c, _ in bm25]])[0][0] == "near-dup"
    assert convex([vector, bm25], [0.5, 0.5], "minmax", [-1.0, 0.0])[0][0] == "near-dup"
    tmm = convex([vector, bm25], [0.5, 0.5], "tmm", [-1.0, 0.0])
    assert [c for c, _ in tmm] == ["doc", "near-dup", "other"]
    assert tmm[0][1] == pytest.approx(0.5 * 1.83 / 1.84 + 0.5 * 1.0)
    # all weight on the vector side: the vector order
    assert [c for c, _ in convex([vector, bm25], [1.0, 0.0], "tmm", [-1.0, 0.0])] == ["near-dup", "other", "doc"]


def test_convex_missing_candidate_scores_zero_there() -> None:
    fused = convex([[("a", 0.9), ("b", 0.5)], [("c", 7.0), ("a", 1.0)]], [0.5, 0.5], "tmm", [-1.0, 0.0])
    scores = dict(fused)
    assert scores["c"] == pytest.approx(0.5)  # only in BM25, at its top
    assert scores["b"] == pytest.approx(0.5 * 1.5 / 1.9)  # only in the vector list
    assert scores["a"] == pytest.approx(0.5 + 0.5 / 7.0)


def test_fuse_dispatches_on_the_configured_function() -> None:
    vector = [("v1", 0.9), ("both", 0.8)]
    bm25 = [("both", 5.0), ("b1", 4.0)]
    assert fuse(vector, bm25, fusion="rrf", vector_weight=0.5, rrf_k=60) == rrf(
        [["v1", "both"], ["both", "b1"]], 60, [0.5, 0.5])
    assert fuse(vector, bm25, fusion="convex", vector_weight=0.3, normalization="tmm") == convex(
        [vector, bm25], [0.3, 0.7], "tmm", [-1.0, 0.0])
    with pytest.raises(ValueError, match="2 lists, 1 weights"):
        convex([vector, bm25], [1.0], "minmax", [0.0, 0.0])


_ids = st.sampled_from([f"c{i}" for i in range(12)])
_scored = st.lists(st.tuples(_ids, st.floats(-1.0, 30.0)), max_size=10, unique_by=lambda t: t[0]).map(
    lambda xs: sorted(xs, key=lambda t: -t[1]))


@given(vector=_scored, bm25=_scored, fusion=st.sampled_from(["rrf", "convex"]),
       norm=st.sampled_from(["minmax", "tmm"]), w=st.floats(0.0, 1.0), k=st.integers(1, 100))
def test_fused_ids_are_the_union_of_the_inputs(vector: list[tuple[str, float]], bm25: list[tuple[str, float]],
                                               fusion: str, norm: str, w: float, k: int) -> None:
    fused = fuse(vector, bm25, fusion=fusion, vector_weight=w, rrf_k=k, normalization=norm)  # type: ignore[arg-type]
    ids = [c for c, _ in fused]
    assert len(ids) == len(set(ids))
    assert set(ids) == {c for c, _ in vector} | {c for c, _ in bm25}
    assert [s for _, s in fused] == sorted((s for _, s in fused), reverse=True)
    assert all(0.0 <= s <= 1.0 + 1e-9 for _, s in fused) or fusion == "rrf"
    assert fused == fuse(list(vector), list(bm25), fusion=fusion, vector_weight=w, rrf_k=k,  # type: ignore[arg-type]
                         normalization=norm)  # type: ignore[arg-type]


def test_config_defaults_and_validation() -> None:
    cfg = KnowledgeConfig()
    assert (cfg.fusion, cfg.normalization) == ("convex", "minmax")
    assert 0.0 <= cfg.vector_weight <= 1.0
    for bad in ({"vector_weight": 1.5}, {"vector_weight": -0.1}, {"fusion": "sum"}, {"normalization": "zscore"},
                {"rrf_k": 0}, {"fusion_weights": [1, 1]}):
        with pytest.raises(ValidationError):
            KnowledgeConfig.model_validate(bad)


def test_store_honours_the_fusion_config(tmp_path: Path, corpus_dir: Path) -> None:
    """RRF with all weight on the vector side: the hybrid top 5 is the vector top 5, in order."""
    cfg = KnowledgeConfig(fusion="rrf", vector_weight=1.0)
    with KnowledgeStore.open("acme", home=tmp_path, config=cfg) as store:
        store.ingest(corpus_dir / "sop_lockout.md")
        store.ingest(corpus_dir / "cnc_spindle_manual.md")
        store.ingest(corpus_dir / "press_hydraulic_manual.md")
        for q in ("ram seal oil leak", "베어링 교체 주기"):
            hybrid = [h.citation.chunk_id for h in store.query(q, k=5)]
            vector = [h.citation.chunk_id for h in store.query(q, k=5, mode="vector")]
            assert hybrid == vector
