"""BM25 (Okapi) over chunk ids: ``BM25Index``, mutable (dicts; ingest and delete), and ``FrozenBM25``, the same
index as flat arrays memory-mapped from ``<store>/index/`` (what a query-only process opens).

Small and dependency-free (numpy only) so that metadata filters and removals are exact. Scores follow
Robertson/Sparck Jones with the usual ``k1=1.5, b=0.75``
and the non-negative idf ``log(1 + (N - df + .5) / (df + .5))``.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["BM25", "BM25Index", "FrozenBM25"]


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

    def freeze(self, ids: Sequence[str]) -> FrozenBM25:
        """The same index as flat arrays (``FrozenBM25``), documents in the order of ``ids``."""
        pos = {cid: i for i, cid in enumerate(ids)}
        terms = sorted(self._postings)
        offsets = np.zeros(len(terms) + 1, dtype=np.int64)
        docs: list[int] = []
        tfs: list[int] = []
        for t, term in enumerate(terms):
            post = sorted(pos[cid] for cid in self._postings[term])
            docs.extend(post)
            tfs.extend(self._tf[ids[i]][term] for i in post)
            offsets[t + 1] = len(docs)
        lens = np.asarray([self._len[cid] for cid in ids], dtype=np.int32)
        return FrozenBM25(list(ids), np.asarray(terms, dtype=np.str_), offsets, np.asarray(docs, dtype=np.int32),
                          np.asarray(tfs, dtype=np.int32), lens, self.k1, self.b)

    def thaw(self) -> BM25Index:
        return self


class FrozenBM25:
    """A read-only BM25 index in five flat arrays — sorted terms, posting offsets, posting documents, term
    frequencies, document lengths — saved as ``.npy`` and memory-mapped on load: a fresh process opens it without
    unpickling a dict per chunk, and two store objects of one company share the pages. Same scores and order as
    ``BM25Index``; ``thaw()`` makes the mutable index before a write."""

    def __init__(self, ids: list[str], terms: Any, offsets: Any, docs: Any, tfs: Any, lens: Any,
                 k1: float = 1.5, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self.ids = ids
        self.terms, self.offsets, self.docs, self.tfs, self.lens = terms, offsets, docs, tfs, lens
        self._total_len = int(np.asarray(lens, dtype=np.int64).sum())

    def __len__(self) -> int:
        return len(self.ids)

    def _find(self, term: str) -> int:
        i = int(np.searchsorted(self.terms, term))
        return i if i < len(self.terms) and self.terms[i] == term else -1

    def _df(self, i: int) -> int:
        return int(self.offsets[i + 1] - self.offsets[i]) if i >= 0 else 0

    def vocabulary(self) -> Iterable[str]:
        return self.terms.tolist()  # type: ignore[no-any-return]

    def idf(self, term: str) -> float:
        n_docs = len(self.ids)
        df = self._df(self._find(term))
        return math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5)) if n_docs else 0.0

    def search(self, query_tokens: Iterable[str], k: int,
               allow: Callable[[str], bool] | None = None) -> list[tuple[str, float]]:
        """As ``BM25Index.search``, term by term in the same order, so the float sums are the same."""
        n_docs = len(self.ids)
        if n_docs == 0 or k <= 0:
            return []
        avgdl = self._total_len / n_docs or 1.0
        scores = np.zeros(n_docs, dtype=np.float64)
        hit = np.zeros(n_docs, dtype=bool)
        for term, qtf in Counter(query_tokens).items():
            i = self._find(term)
            if i < 0:
                continue
            lo, hi = int(self.offsets[i]), int(self.offsets[i + 1])
            docs = np.asarray(self.docs[lo:hi])
            tf = np.asarray(self.tfs[lo:hi], dtype=np.float64)
            df = hi - lo
            idf = math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
            norm = tf + self.k1 * (1.0 - self.b + self.b * np.asarray(self.lens[docs], dtype=np.float64) / avgdl)
            scores[docs] += qtf * idf * tf * (self.k1 + 1.0) / norm
            hit[docs] = True
        items: Iterable[tuple[str, float]] = ((self.ids[i], float(scores[i])) for i in np.flatnonzero(hit))
        if allow is not None:
            items = ((cid, s) for cid, s in items if allow(cid))
        return heapq.nlargest(k, items, key=lambda kv: (kv[1], kv[0]))

    def thaw(self) -> BM25Index:
        """The mutable index with the same content (before an ingest or a delete)."""
        out = BM25Index(self.k1, self.b)
        per_doc: list[Counter[str]] = [Counter() for _ in self.ids]
        docs, tfs = np.asarray(self.docs), np.asarray(self.tfs)
        for t, term in enumerate(self.terms.tolist()):
            for j in range(int(self.offsets[t]), int(self.offsets[t + 1])):
                per_doc[int(docs[j])][term] = int(tfs[j])
        for cid, tf, n in zip(self.ids, per_doc, np.asarray(self.lens).tolist(), strict=True):
            out._tf[cid] = tf
            out._len[cid] = n
            out._total_len += n
            for term in tf:
                out._postings.setdefault(term, set()).add(cid)
        return out

    def freeze(self, ids: Sequence[str]) -> FrozenBM25:
        return self if list(ids) == self.ids else self.thaw().freeze(ids)

    ARRAYS = ("terms", "offsets", "docs", "tfs", "lens")

    def save(self, folder: Path, suffix: str) -> None:
        """``bm25_<name><suffix>.npy`` for each array (the caller renames them into place)."""
        for name in self.ARRAYS:
            with (folder / f"bm25_{name}{suffix}").open("wb") as fh:
                np.save(fh, np.ascontiguousarray(getattr(self, name)))

    @classmethod
    def load(cls, folder: Path, ids: list[str]) -> FrozenBM25:
        """Memory-mapped; ValueError when the arrays do not fit together or with ``ids``."""
        arr = {name: np.load(folder / f"bm25_{name}.npy", mmap_mode="r") for name in cls.ARRAYS}
        if (len(arr["offsets"]) != len(arr["terms"]) + 1 or len(arr["lens"]) != len(ids)
                or len(arr["docs"]) != len(arr["tfs"]) or int(arr["offsets"][-1]) != len(arr["docs"])):
            raise ValueError("BM25 arrays do not match the index")
        return cls(ids, arr["terms"], arr["offsets"], arr["docs"], arr["tfs"], arr["lens"])


BM25 = BM25Index | FrozenBM25
