"""Abstention and lexical confidence: does the best evidence support an answer, or should the store say "no
answer in these documents"?

Two signals, both per query and comparable across stores:

- the best **vector** score — cosine similarity in the language-centred space (``_index.py``);
- the best **BM25** score divided by the query's own maximum (the score a chunk containing each query token once
  would get at average length), so 0 = no query word found, ~1 = every query word found (``lexical_match``).

``evidence = cosine + BM25_WEIGHT × lexical_match``. On the dev part of the two-company set
(tests/knowledge/two_company.yaml) this separates unanswerable questions better than either signal alone
(ROC AUC 0.80 with language centring 0.75; benchmarks/knowledge.py --tune prints it). The threshold (0.33) was
chosen there by a rule fixed beforehand: the largest threshold that refuses at most one of the 36 answerable dev
questions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from factorypilot.knowledge._bm25 import BM25Index

__all__ = ["BM25_WEIGHT", "Verdict", "decide", "lexical_match"]

BM25_WEIGHT = 0.5


@dataclass(frozen=True)
class Verdict:
    answerable: bool
    evidence: float


def lexical_match(lex: Sequence[tuple[str, float]], bm25: BM25Index, tokens: Sequence[str]) -> float:
    """Best BM25 score over the query's self-score (each distinct query token once, average length)."""
    if not lex or not tokens:
        return 0.0
    k1 = bm25.k1
    self_score = sum(bm25.idf(t) * (k1 + 1.0) / (1.0 + k1) for t in set(tokens))
    return min(1.5, lex[0][1] / self_score) if self_score > 0 else 0.0


def decide(vec: Sequence[tuple[str, float]], lex: Sequence[tuple[str, float]], bm25: BM25Index,
           tokens: Sequence[str], threshold: float) -> Verdict:
    """``answerable`` when ``evidence`` reaches ``threshold``; nothing retrieved is never answerable."""
    if not vec and not lex:
        return Verdict(False, 0.0)
    evidence = (vec[0][1] if vec else 0.0) + BM25_WEIGHT * lexical_match(lex, bm25, tokens)
    return Verdict(evidence >= threshold, round(evidence, 4))
