"""Korean-aware tokens for BM25.

Two tokenizers, chosen per store (``KnowledgeConfig.tokenizer``); both lower-case Latin words, keep numbers and
joined identifiers (``cnc-01``), and drop a small English stop-word list:

- ``kiwi`` (default): Korean morphemes from kiwipiepy — content morphemes only (nouns, verb/adjective stems,
  roots, numerals, Hanja), so particles and endings (이/가/를/습니다) do not match across documents.
- ``ngram``: Hangul character bigrams — no model, tolerant of unknown words and spacing, but noisier.

The benchmark (benchmarks/knowledge.py) measures both; see docs/knowledge.md for the figures and the choice.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from typing import Any, Literal

__all__ = ["TokenizerName", "make_tokenizer"]

TokenizerName = Literal["kiwi", "ngram"]

_LATIN = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
_HANGUL_RUN = re.compile(r"[\uac00-\ud7a3]+")
_HAS_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
_KEEP_TAGS = ("NNG", "NNP", "NR", "VV", "VA", "XR", "SH", "MAG")
_STOP_TEXT = (
    "a an and are as at be by for from has have if in into is it its of on or that the their then there these "
    "this to was were when which while will with"
)
_STOP = frozenset(_STOP_TEXT.split(" "))


def _latin_tokens(text: str) -> list[str]:
    out: list[str] = []
    for m in _LATIN.finditer(text.lower()):
        word = m.group(0)
        parts = re.split(r"[._-]", word)
        out.extend(p for p in parts if p and p not in _STOP)
        if len(parts) > 1:
            out.append(word)  # keep the joined identifier too: "cnc-01", "e-1023"
    return out


class _Kiwi:
    """One kiwipiepy analyser per process (loading costs ~1.5 s); calls are serialised."""

    _instance: Any = None
    _lock = threading.Lock()

    @classmethod
    def get(cls) -> Any:
        with cls._lock:
            if cls._instance is None:
                from kiwipiepy import Kiwi

                cls._instance = Kiwi()
            return cls._instance


def _kiwi_tokens(texts: Sequence[str]) -> list[list[str]]:
    kiwi = _Kiwi.get()
    korean_idx = [i for i, t in enumerate(texts) if _HAS_HANGUL.search(t)]
    morphs: dict[int, list[str]] = {}
    if korean_idx:
        with _Kiwi._lock:
            analysed = kiwi.tokenize([texts[i] for i in korean_idx])
            for i, tokens in zip(korean_idx, analysed, strict=True):
                morphs[i] = [tok.form for tok in tokens
                             if tok.tag.startswith(_KEEP_TAGS) and _HAS_HANGUL.search(tok.form)]
    return [morphs.get(i, []) + _latin_tokens(t) for i, t in enumerate(texts)]


def _ngram_tokens(texts: Sequence[str]) -> list[list[str]]:
    out: list[list[str]] = []
    for text in texts:
        toks: list[str] = []
        for run in _HANGUL_RUN.findall(text):
            if len(run) == 1:
                toks.append(run)
            else:
                toks.extend(run[i:i + 2] for i in range(len(run) - 1))
        out.append(toks + _latin_tokens(text))
    return out


def make_tokenizer(name: TokenizerName) -> Callable[[Sequence[str]], list[list[str]]]:
    """A batch tokenizer: list of texts in, list of token lists out."""
    if name == "kiwi":
        _Kiwi.get()  # load now (start-up), not at the first query
        return _kiwi_tokens
    return _ngram_tokens
