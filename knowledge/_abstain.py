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

A third, language-independent check (``missing_identifiers``): an identifier the question names — an equipment
tag, lot, report or part number such as ``MC-35``, ``25E207``, ``DR-0931`` — that appears in none of the returned
passages makes the question not answerable whatever the scores. Passages about MC-34 do not answer a question about
MC-35, and a score threshold cannot see that: the two read almost the same to the embedding and to BM25. A hit's
file name, section path and document ``equipment`` / ``title`` count as part of it (``evidence_text``): a manual
ingested with ``--equipment CNC-01`` is about CNC-01 even where its text does not say so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from factorypilot.knowledge._bm25 import BM25
from factorypilot.knowledge._models import Hit

__all__ = ["BM25_WEIGHT", "Verdict", "decide", "evidence_text", "identifiers", "lexical_match",
           "missing_identifiers"]

BM25_WEIGHT = 0.5
# a Latin run with a digit (MC-34, ISO9001, DR-0931, CP-2025-22) or digits-letters-digits (25E207); Hangul ends it
_ID = re.compile(r"(?<![A-Za-z0-9])(?:[A-Za-z]+[-_]?[A-Za-z]*\d[A-Za-z0-9]*(?:[-_.][A-Za-z0-9]+)*"
                 r"|\d+[A-Za-z]+\d[A-Za-z0-9]*)")
_SEP = re.compile(r"[\s_.\-]+")
# a range of tags in a document: "MC-31 ~ MC-38", "MC-31 to 38", "MC-31–MC-38"
_RANGE = re.compile(r"([A-Za-z]+)[-_ ]?(\d+)\s*(?:~|–|—|to|through|-)\s*(?:([A-Za-z]+)[-_ ]?)?(\d+)", re.IGNORECASE)
_TAG = re.compile(r"([A-Za-z]+)[-_ ]?(\d+)")


@dataclass(frozen=True)
class Verdict:
    answerable: bool
    evidence: float
    missing: tuple[str, ...] = field(default=())


def _squash(text: str) -> str:
    return _SEP.sub("", text.lower())


def identifiers(text: str) -> list[str]:
    """Identifiers named in ``text``: two letters, a separator and a digit (``PR-7``, ``MC-34``, ``DR-0931``), at
    least two letters and two digits (``SUS304``), or digits, letters, digits (``25E207``). Units and short codes
    (``10mm``, ``pH7``, ``CO2``, ``M10``) are not identifiers: a document may write them another way."""
    out: list[str] = []
    for m in _ID.finditer(text):
        word = m.group(0).strip("-_.")
        letters = sum(c.isalpha() for c in word)
        digits = sum(c.isdigit() for c in word)
        tagged = re.match(r"[A-Za-z]{2,}[-_]\d", word) is not None  # PR-7, MF-1: a tag with a separator
        if (tagged or (letters >= 2 and digits >= 2) or word[0].isdigit()) and word not in out:
            out.append(word)
    return out


def missing_identifiers(question: str, passages: Sequence[str]) -> list[str]:
    """The question's identifiers found in none of ``passages``; case, spaces, ``-``, ``_`` and ``.`` are ignored
    (``MC-34`` matches ``mc34`` and ``MC 34``)."""
    ids = identifiers(question)
    if not ids:
        return []
    joined = " ".join(passages)
    text = _squash(joined)
    return [i for i in ids if _squash(i) not in text and not _in_range(i, joined)]


def evidence_text(hit: Hit) -> str:
    """What a hit says about which machine, lot or report it is about: its text with the neighbouring chunks, its
    file name, section path and the document's ``equipment`` and ``title`` (front matter or ``--equipment``)."""
    meta = [str(hit.metadata.get(k, "")) for k in ("equipment", "title")]
    return "\n".join([hit.context or hit.text, hit.citation.file, hit.citation.section, *meta])


def _in_range(ident: str, text: str) -> bool:
    """``MC-35`` inside a range the text names (``MC-31 ~ MC-38``): same letters, number between the two ends."""
    tag = _TAG.fullmatch(ident)
    if tag is None:
        return False
    prefix, number = tag.group(1).lower(), int(tag.group(2))
    for m in _RANGE.finditer(text):
        if m.group(1).lower() != prefix or (m.group(3) and m.group(3).lower() != prefix):
            continue
        if int(m.group(2)) <= number <= int(m.group(4)):
            return True
    return False


def lexical_match(lex: Sequence[tuple[str, float]], bm25: BM25, tokens: Sequence[str]) -> float:
    """Best BM25 score over the query's self-score (each distinct query token once, average length)."""
    if not lex or not tokens:
        return 0.0
    k1 = bm25.k1
    self_score = sum(bm25.idf(t) * (k1 + 1.0) / (1.0 + k1) for t in set(tokens))
    return min(1.5, lex[0][1] / self_score) if self_score > 0 else 0.0


def decide(vec: Sequence[tuple[str, float]], lex: Sequence[tuple[str, float]], bm25: BM25,
           tokens: Sequence[str], threshold: float, *, question: str = "",
           passages: Sequence[str] = ()) -> Verdict:
    """``answerable`` when ``evidence`` reaches ``threshold`` and every identifier of ``question`` is in one of
    ``passages`` (the text returned with the answer); nothing retrieved is never answerable."""
    if not vec and not lex:
        return Verdict(False, 0.0, tuple(identifiers(question)))
    evidence = (vec[0][1] if vec else 0.0) + BM25_WEIGHT * lexical_match(lex, bm25, tokens)
    missing = tuple(missing_identifiers(question, passages)) if question else ()
    return Verdict(evidence >= threshold and not missing, round(evidence, 4), missing)
