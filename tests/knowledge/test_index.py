"""The persisted query index (index/): a fresh open answers without Chroma, a change made through another
store object (another process) is picked up, language centring is learned from the company's chunks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from factorypilot.knowledge import KnowledgeConfig, KnowledgeStore
from factorypilot.knowledge._index import centroids, complete, text_lang


def _docs(tmp_path: Path) -> Path:
    d = tmp_path / "docs"
    d.mkdir()
    (d / "pump.md").write_text("# Pump\nReplace the pump seal every 2,000 hours.\n", encoding="utf-8")
    (d / "펌프.md").write_text("# 펌프\n펌프 씰은 2,000시간마다 교체한다.\n", encoding="utf-8")
    return d


def test_reopen_reads_the_index_without_chroma(tmp_path: Path) -> None:
    with KnowledgeStore.open("acme", home=tmp_path / "h") as store:
        store.ingest(_docs(tmp_path))
        first = store.query("pump seal", k=2)
    root = tmp_path / "h" / "companies" / "acme" / "index"
    assert {p.name for p in root.iterdir()} >= {"raw.npy", "search.npy", "index.pkl"}
    with KnowledgeStore.open("acme", home=tmp_path / "h") as again:
        assert again._col_ is None  # Chroma not opened
        assert [h.citation.chunk_id for h in again.query("pump seal", k=2)] == [h.citation.chunk_id for h in first]
        assert again._col_ is None
        assert isinstance(again._search.matrix.base, np.memmap) or isinstance(again._search.matrix, np.memmap)


def test_a_change_by_another_store_object_is_seen(tmp_path: Path) -> None:
    home = tmp_path / "h"
    reader = KnowledgeStore.open("acme", home=home)
    writer = KnowledgeStore.open("acme", home=home)
    writer.ingest(_docs(tmp_path))
    assert reader.stats().chunks == 2  # generation changed: index re-read
    writer.delete("pump.md")
    assert {h.citation.file for h in reader.query("pump seal", k=5)} == {"펌프.md"}
    reader.close()
    writer.close()


def test_stale_or_broken_index_is_rebuilt(tmp_path: Path) -> None:
    home = tmp_path / "h"
    with KnowledgeStore.open("acme", home=home) as store:
        store.ingest(_docs(tmp_path))
    (home / "companies" / "acme" / "index" / "index.pkl").write_bytes(b"not a pickle")
    with KnowledgeStore.open("acme", home=home) as store:
        assert store.stats().chunks == 2
        assert store.query("펌프 씰 교체", k=1)[0].citation.file in ("펌프.md", "pump.md")


def test_centroids_per_language() -> None:
    raw = np.eye(4, dtype=np.float32)
    assert centroids(raw, ["ko", "ko", "en", "en"]) == {}
    one = centroids(raw, ["ko", "ko", "ko", "en"])
    assert set(one) == {"ko"}
    seed = {"ko": np.ones(4, dtype=np.float32), "en": np.zeros(4, dtype=np.float32)}
    done = complete(one, seed)  # the missing language: present mean + the seed's language offset
    assert np.allclose(done["en"], one["ko"] - 1.0)
    both = centroids(np.vstack([raw, raw]), ["ko", "ko", "ko", "en", "en", "en", "ko", "en"])
    assert set(both) == {"ko", "en"}
    assert text_lang("펌프 씰은 2,000시간마다 교체한다") == "ko"
    assert text_lang("Replace the pump seal (펌프 씰)") == "en"


def test_centring_share_zero_is_the_plain_model(tmp_path: Path) -> None:
    home = tmp_path / "h"
    with KnowledgeStore.open("acme", home=home) as store:
        store.ingest(_docs(tmp_path))
    with KnowledgeStore.open("acme", home=home, config=KnowledgeConfig(language_centering=0.0)) as plain:
        q = plain.query_vector("pump seal")
        assert np.allclose(q, plain._embedder.query("pump seal") / np.linalg.norm(plain._embedder.query("pump seal")),
                           atol=1e-5)
