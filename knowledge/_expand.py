"""BM25 query expansion across languages: the hand glossary (seed, both directions) and the loanwords learned from
the company's own vocabulary (``_loanwords.py``). The vector side needs none of this (language centring,
``_index.py``); BM25 cannot match a Korean word to an English document without it."""

from __future__ import annotations

from factorypilot.knowledge._bm25 import BM25
from factorypilot.knowledge._config import KnowledgeConfig
from factorypilot.knowledge._glossary import build_glossary
from factorypilot.knowledge._loanwords import LoanwordIndex

__all__ = ["QueryExpander"]


class QueryExpander:
    """Words of the other language for a question; the loanword list is rebuilt after each change of the store."""

    def __init__(self, config: KnowledgeConfig) -> None:
        self._glossary = build_glossary(config.glossary) if config.expand_queries else {}
        # Korean glossary words are looked up in the question's text: bigram tokens never equal a word of three or
        # more syllables (절삭유), so a token lookup alone missed them
        self._korean_keys = [k for k in self._glossary if not k.isascii()]
        self._loanwords = config.loanwords and config.expand_queries
        self._loan: tuple[int, LoanwordIndex] | None = None

    def words(self, text: str, tokens: list[str], bm25: BM25, generation: int) -> list[str]:
        """Added words (not already among ``tokens``), sorted."""
        keys = {*tokens, *(k for k in self._korean_keys if k in text)}
        extra = {w for t in keys for w in self._glossary.get(t, ())}
        if self._loanwords:
            extra.update(self.loanword_index(bm25, generation).expand(text))
        return sorted(extra.difference(tokens))

    def loanword_index(self, bm25: BM25, generation: int) -> LoanwordIndex:
        if self._loan is None or self._loan[0] != generation:
            self._loan = (generation, LoanwordIndex(bm25.vocabulary()))
        return self._loan[1]
