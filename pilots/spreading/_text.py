"""Sentence evidence for matching: embedding similarity and Korean-aware lexical overlap.

- Embeddings come from the knowledge package's factory (:func:`resolve_embedder`, configured like a knowledge
  store by :class:`KnowledgeConfig`), so a change of the offline model there flows through here. Firm sentences
  are embedded as queries, template statements as passages; vectors are cached per text.
- Similarities are turned into **z-scores against the pool of all statements in the catalog**, so the ranking
  does not depend on the absolute cosine scale of one model (multilingual-e5 puts almost everything above 0.8).
- Lexical overlap: content morphemes (kiwipiepy, through the knowledge tokenizer) and crude English stems,
  weighted by inverse document frequency over the catalog's statements; the share of the firm sentence's weight
  found in a statement.
- Cue words: a constraint that *excludes* an area (금지, 관심 없음, 외주, must not, leave alone) or *permits*
  something (괜찮, 허용, acceptable).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

__all__ = ["FUNCTION_WORDS", "SentenceSpace", "excludes", "permits"]

Vec = npt.NDArray[np.float32]

_EXCLUDE = re.compile(
    r"금지|않|없음|없다|없고|관심\s*없|건드리|손대|외주|제외|불가|말\s*것|하지\s*말|"
    r"\bnot\b|\bno\b|\bnever\b|forbid|\bleave\b.*\balone\b|out of scope|outsourc|must not|n't\b|"
    r"\bnothing\b|\bwithout\b", re.I)
_PERMIT = re.compile(r"괜찮|허용|좋다|좋음|acceptable|allowed|\bok\b|\bfine\b|can be|is welcome", re.I)


# tokens that carry no subject matter (negation, modality, light verbs): never evidence that two sentences talk
# about the same thing
FUNCTION_WORDS = frozenset({
    "no", "not", "any", "all", "must", "do", "does", "new", "can", "could", "should", "would", "need", "use",
    "make", "get", "be", "없", "있", "하", "되", "않", "이", "그", "저", "것", "수", "등", "위", "중", "더", "잘",
})


def excludes(sentence: str) -> bool:
    """The sentence rules something out (a prohibition, an exclusion, an outsourced area)."""
    return bool(_EXCLUDE.search(sentence)) and not permits(sentence)


def permits(sentence: str) -> bool:
    """The sentence allows something (so it must not count as a prohibition)."""
    return bool(_PERMIT.search(sentence))


def _stem(word: str) -> str:
    for suffix in ("ations", "ation", "ings", "ing", "ies", "es", "ed", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


class _Shared:
    """The embedder and the tokenizer, loaded once per process (loading costs seconds)."""

    lock = threading.Lock()
    embedder: Any = None
    tokenizer: Any = None

    @classmethod
    def get(cls) -> tuple[Any, Any]:
        with cls.lock:
            if cls.embedder is None:
                from factorypilot.knowledge import KnowledgeConfig
                from factorypilot.knowledge._embeddings import resolve_embedder
                from factorypilot.knowledge._tokenize import make_tokenizer

                cfg = KnowledgeConfig()
                cls.embedder = resolve_embedder(None, model_path=cfg.model_path, num_threads=cfg.embed_threads)
                cls.tokenizer = make_tokenizer("kiwi")
            return cls.embedder, cls.tokenizer


class SentenceSpace:
    """Statements of a catalog (passages) against which firm sentences (queries) are scored."""

    _cache: ClassVar[dict[tuple[str, str, str], Vec]] = {}

    def __init__(self, statements: Sequence[str], *, embedder: Any = None, tokenizer: Any = None) -> None:
        shared = _Shared.get() if embedder is None or tokenizer is None else (embedder, tokenizer)
        self._emb = embedder or shared[0]
        self._tok = tokenizer or shared[1]
        self.statements = list(statements)
        self._vecs = self._normed([self._vector("p", s) for s in self.statements]) if self.statements else \
            np.zeros((0, 1), dtype=np.float32)
        self._toks = [self.tokens(s) for s in self.statements]
        df: dict[str, int] = {}
        for toks in self._toks:
            for t in toks:
                df[t] = df.get(t, 0) + 1
        n = max(len(self._toks), 1)
        self._idf = {t: math.log(1 + n / c) for t, c in df.items()}
        self._idf_unknown = math.log(1 + n)

    @staticmethod
    def _normed(rows: Sequence[Vec]) -> Vec:
        m = np.vstack([np.asarray(r, dtype=np.float32).reshape(1, -1) for r in rows])
        norms = np.linalg.norm(m, axis=1, keepdims=True)
        return np.asarray(m / np.where(norms == 0, 1, norms), dtype=np.float32)

    def _vector(self, kind: str, text: str) -> Vec:
        key = (str(self._emb.name), kind, text)
        vec = self._cache.get(key)
        if vec is None:
            vec = self._emb.passages([text])[0] if kind == "p" else self._emb.query(text)
            self._cache[key] = np.asarray(vec, dtype=np.float32).reshape(-1)
        return vec

    def tokens(self, text: str) -> set[str]:
        return {_stem(t.lower()) for t in self._tok([text])[0] if len(t) > 1 or not t.isascii()}

    def cosine(self, sentence: str) -> Vec:
        """Cosine of the sentence (as a query) with every statement."""
        if not self.statements:
            return np.zeros(0, dtype=np.float32)
        q = self._normed([self._vector("q", sentence)])[0]
        return np.asarray(self._vecs @ q, dtype=np.float32)

    def zscores(self, sentence: str) -> Vec:
        """Cosine as z-scores over the pool of statements (scale-free across embedding models)."""
        cos = self.cosine(sentence)
        if cos.size < 2:
            return np.zeros_like(cos)
        std = float(cos.std())
        return np.asarray((cos - cos.mean()) / (std if std > 1e-6 else 1.0), dtype=np.float32)

    def overlap(self, sentence: str) -> tuple[Vec, list[set[str]]]:
        """Per statement: the IDF-weighted share of the sentence's tokens it contains, and the shared tokens."""
        toks = self.tokens(sentence)
        total = sum(self._idf.get(t, self._idf_unknown) for t in toks)
        shares = np.zeros(len(self.statements), dtype=np.float32)
        shared_sets: list[set[str]] = []
        for i, st in enumerate(self._toks):
            shared = (toks & st) - FUNCTION_WORDS
            shared_sets.append(shared)
            if total > 0:
                shares[i] = sum(self._idf[t] for t in shared) / total
        return shares, shared_sets
