"""Exact (brute-force) cosine search over one company's chunk vectors, held in memory.

Chroma's HNSW index is approximate: on the benchmark store it returned only ~92 % of the exact top 10 (some
queries 40 %), and the result changed between processes (graph loading), so the same question could rank
differently after a restart. A per-company store holds thousands to tens of thousands of chunks; one matrix
product over them costs ~1-3 ms (10,000 × 384 float32 = 15 MB), so exact search is affordable, deterministic
and applies metadata filters exactly (same predicate as BM25). Chroma stays the persistent copy; this index is
rebuilt from it when a store opens. ``KnowledgeConfig.vector_index = "hnsw"`` keeps Chroma's index for very
large stores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["ExactIndex"]

Matrix = npt.NDArray[np.float32]


class ExactIndex:
    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._ids: list[str] = []
        self._pos: dict[str, int] = {}
        self._buf: Matrix = np.zeros((0, dim), dtype=np.float32)  # rows [0, len) are live; the rest is room

    @classmethod
    def from_matrix(cls, ids: Sequence[str], normalised: Matrix) -> ExactIndex:
        """An index over already-normalised rows (e.g. a read-only memory map; copied on the first change)."""
        idx = cls(int(normalised.shape[1]))
        idx._ids = list(ids)
        idx._pos = {cid: i for i, cid in enumerate(idx._ids)}
        idx._buf = normalised
        return idx

    @property
    def ids(self) -> list[str]:
        return self._ids

    @property
    def matrix(self) -> Matrix:
        """The live rows (a view; do not modify)."""
        return self._mat

    def _writable(self) -> None:
        if not self._buf.flags.writeable:
            self._buf = np.array(self._buf, dtype=np.float32)

    @property
    def _mat(self) -> Matrix:
        return self._buf[: len(self._ids)]

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, ids: Sequence[str], vectors: npt.ArrayLike) -> None:
        """Add or replace vectors (normalised here, so scores are cosine similarities)."""
        mat = np.asarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        norms = np.linalg.norm(mat, axis=1, keepdims=True)
        mat = (mat / np.where(norms > 0, norms, 1.0)).astype(np.float32)
        self._writable()
        new_rows: list[int] = []
        for i, cid in enumerate(ids):
            pos = self._pos.get(cid)
            if pos is None:
                new_rows.append(i)
                self._pos[cid] = len(self._ids)
                self._ids.append(cid)
            else:
                self._mat[pos] = mat[i]
        if new_rows:  # grow by doubling: ingest adds a batch at a time, so copying per batch would be quadratic
            start = len(self._ids) - len(new_rows)
            if len(self._ids) > len(self._buf):
                grown = np.zeros((max(len(self._ids), 2 * len(self._buf), 64), self.dim), dtype=np.float32)
                grown[:start] = self._buf[:start]
                self._buf = grown
            self._buf[start: len(self._ids)] = mat[new_rows]

    def remove(self, ids: Sequence[str]) -> None:
        drop = {self._pos[c] for c in ids if c in self._pos}
        if not drop:
            return
        keep = [i for i in range(len(self._ids)) if i not in drop]
        self._ids = [self._ids[i] for i in keep]
        self._buf = self._buf[keep]
        self._pos = {cid: i for i, cid in enumerate(self._ids)}

    def search(self, query: npt.ArrayLike, k: int,
               allow: Callable[[str], bool] | None = None) -> list[tuple[str, float]]:
        """Top ``k`` (chunk id, cosine similarity), best first, ties by id; ``allow`` filters chunk ids."""
        if not self._ids or k <= 0:
            return []
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        q = q / (float(np.linalg.norm(q)) or 1.0)
        scores = self._mat @ q
        if allow is not None:
            mask = np.fromiter((allow(c) for c in self._ids), dtype=bool, count=len(self._ids))
            scores = np.where(mask, scores, -np.inf)
            k = min(k, int(mask.sum()))
        k = min(k, len(self._ids))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k] if k < len(self._ids) else np.arange(len(self._ids))
        hits = [(self._ids[i], float(scores[i])) for i in top]
        return sorted(hits, key=lambda h: (-h[1], h[0]))
