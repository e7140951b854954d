"""Fusion of the vector and BM25 candidate lists into one ranking.

Two fusion functions, chosen per store (``KnowledgeConfig.fusion``):

- ``rrf``: weighted reciprocal rank fusion (Cormack et al., 2009): ``score = Σ w_i / (k + rank_i)``, ranks from 1.
  Uses ranks only, so a list whose scores are nearly flat (a weak method) still pushes its first places up.
- ``convex``: a convex combination of normalised scores, ``score = w · vec' + (1 - w) · bm25'`` (Bruch et al.,
  "An Analysis of Fusion Functions for Hybrid Retrieval", TOIS 2023). Scores are normalised per query, either
  ``minmax`` (over the candidates) or ``tmm`` (theoretical minimum: ``(s - m) / (max - m)`` with ``m`` = 0 for
  BM25 and -1 for cosine similarity). A candidate missing from one list scores 0 there. Unlike RRF it keeps the
  score *gaps*: a BM25 hit far ahead of the rest stays ahead unless the vector side is sure as well.

``fuse`` picks the configured one; ties are broken by chunk id so results are deterministic.

``spread`` then gives the last places of the top ``k`` to files not shown yet: a file whose chunks fill the first
places pushes the next-best *document* out of sight, and a person (or the agent) reading five passages of one
wrong manual learns less than from four of them and the best passage of another. Chosen on the dev questions
(issue 17, session 6; ``KnowledgeConfig.new_file_slots``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

__all__ = ["BM25_MIN", "COSINE_MIN", "FusionName", "Normalization", "convex", "fuse", "normalize", "rrf", "spread"]

FusionName = Literal["rrf", "convex"]
Normalization = Literal["minmax", "tmm"]

COSINE_MIN = -1.0  # theoretical minimum of cosine similarity (the vector side's score)
BM25_MIN = 0.0  # theoretical minimum of a BM25 score


def _ordered(scores: Mapping[str, float]) -> list[tuple[str, float]]:
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def rrf(rankings: Sequence[Sequence[str]], k: int = 60,
        weights: Sequence[float] | None = None) -> list[tuple[str, float]]:
    """Fuse ranked id lists (best first) by weighted RRF; best first, ties broken by id for determinism."""
    if weights is not None and len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights for {len(rankings)} rankings")
    scores: dict[str, float] = {}
    for i, ranking in enumerate(rankings):
        w = 1.0 if weights is None else weights[i]
        for rank, cid in enumerate(ranking, start=1):
            scores[cid] = scores.get(cid, 0.0) + w / (k + rank)
    return _ordered(scores)


def normalize(scored: Sequence[tuple[str, float]], method: Normalization,
              theoretical_min: float = 0.0) -> dict[str, float]:
    """Scores mapped to [0, 1] per query: ``minmax`` over the list, or ``tmm`` from ``theoretical_min`` to the
    list's maximum. A list whose scores are all equal maps to 1.0 (every candidate is the best there is)."""
    if not scored:
        return {}
    values = [s for _, s in scored]
    hi = max(values)
    lo = min(values) if method == "minmax" else min(theoretical_min, min(values))
    span = hi - lo
    if span <= 0.0:
        return {cid: 1.0 for cid, _ in scored}
    return {cid: (s - lo) / span for cid, s in scored}


def convex(lists: Sequence[Sequence[tuple[str, float]]], weights: Sequence[float], method: Normalization,
           theoretical_mins: Sequence[float]) -> list[tuple[str, float]]:
    """Convex combination of normalised scores; a candidate absent from a list scores 0 there."""
    if not len(lists) == len(weights) == len(theoretical_mins):
        raise ValueError(f"{len(lists)} lists, {len(weights)} weights, {len(theoretical_mins)} minima")
    scores: dict[str, float] = {}
    for scored, w, lo in zip(lists, weights, theoretical_mins, strict=True):
        for cid, s in normalize(scored, method, lo).items():
            scores[cid] = scores.get(cid, 0.0) + w * s
    return _ordered(scores)


def fuse(vector: Sequence[tuple[str, float]], bm25: Sequence[tuple[str, float]], *, fusion: FusionName,
         vector_weight: float, rrf_k: int = 60, normalization: Normalization = "minmax") -> list[tuple[str, float]]:
    """Vector (cosine) and BM25 candidates, each best first, fused into one ranking; BM25 weighs
    ``1 - vector_weight``."""
    weights = (vector_weight, 1.0 - vector_weight)
    if fusion == "rrf":
        return rrf([[c for c, _ in vector], [c for c, _ in bm25]], rrf_k, weights)
    return convex([vector, bm25], weights, normalization, (COSINE_MIN, BM25_MIN))


def file_of(chunk_id: str) -> str:
    """The file part of a chunk id (``<file sha>-<index>``)."""
    return chunk_id.rsplit("-", 1)[0]


def spread(ranked: Sequence[tuple[str, float]], k: int, new_slots: int) -> list[tuple[str, float]]:
    """``ranked`` with its top ``k`` changed so that the last ``new_slots`` of them are the best chunks of files
    not among the first ``k - new_slots`` (in rank order; when the candidates hold fewer such files, the places
    left keep their chunks). The rest of the ranking follows unchanged. ``new_slots`` 0 (or ``k`` ≤ it) keeps it as
    it is."""
    if new_slots <= 0 or k <= new_slots or len(ranked) <= k:
        return list(ranked)
    head = list(ranked[: k - new_slots])
    seen = {file_of(c) for c, _ in head}
    fresh: list[tuple[str, float]] = []
    for item in ranked[k - new_slots:]:
        if len(fresh) == new_slots:
            break
        if file_of(item[0]) not in seen:
            fresh.append(item)
            seen.add(file_of(item[0]))
    taken = {c for c, _ in fresh}
    rest = [item for item in ranked[k - new_slots:] if item[0] not in taken]
    fill = rest[: new_slots - len(fresh)]
    return head + fresh + fill + rest[len(fill):]
