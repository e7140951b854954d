"""An in-memory BM25 (Okapi) index over chunk ids, rebuilt from the manifest when a store opens.

Small and dependency-free so that metadata filters and removals are exact. Scores follow Robertson/Sparck Jones
with the usual ``k1=1.5, b=0.75`` and the non-negative idf ``log(1 + (N - df + .5) / (df + .5))``.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Callable, Iterable

__all__ = ["BM25Index"]


class BM25Index:
    def __init__(self, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._tf: dict[str, Counter[str]] = {}
        self._len: dict[str, int] = {}
        self._postings: dict[str, set[str]] = {}
        self._total_len = 0

    def __len__(self) -> int:
        return len(self._tf)

    def add(self, chunk_id: str, tokens: Iterable[str]) -> None:
        if chunk_id in self._tf:
            self.remove([chunk_id])
        tf = Counter(tokens)
        self._tf[chunk_id] = tf
        n = sum(tf.values())
        self._len[chunk_id] = n
        self._total_len += n
        for term in tf:
            self._postings.setdefault(term, set()).add(chunk_id)

    def remove(self, chunk_ids: Iterable[str]) -> None:
        for cid in chunk_ids:
            tf = self._tf.pop(cid, None)
            if tf is None:
                continue
            self._total_len -= self._len.pop(cid)
            for term in tf:
                post = self._postings.get(term)
                if post is not None:
                    post.discard(cid)
                    if not post:
                        del self._postings[term]

    def vocabulary(self) -> Iterable[str]:
        """Every indexed term."""
        return self._postings.keys()

    def idf(self, term: str) -> float:
        n_docs = len(self._tf)
        df = len(self._postings.get(term, ()))
        return math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5)) if n_docs else 0.0

    def search(self, query_tokens: Iterable[str], k: int,
               allow: Callable[[str], bool] | None = None) -> list[tuple[str, float]]:
        """Top ``k`` (chunk id, score), best first; ``allow`` filters chunk ids (metadata filters)."""
        n_docs = len(self._tf)
        if n_docs == 0 or k <= 0:
            return []
        avgdl = self._total_len / n_docs or 1.0
        scores: dict[str, float] = {}
        for term, qtf in Counter(query_tokens).items():
            post = self._postings.get(term)
            if not post:
                continue
            df = len(post)
            idf = math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
            for cid in post:
                tf = self._tf[cid][term]
                norm = tf + self.k1 * (1.0 - self.b + self.b * self._len[cid] / avgdl)
                scores[cid] = scores.get(cid, 0.0) + qtf * idf * tf * (self.k1 + 1.0) / norm
        items: Iterable[tuple[str, float]] = scores.items()
        if allow is not None:
            items = ((cid, s) for cid, s in items if allow(cid))
        return heapq.nlargest(k, items, key=lambda kv: (kv[1], kv[0]))
