"""The query-side index of one store, persisted next to Chroma (``<store>/index/``) so that a fresh process can
answer a question without loading Chroma or re-reading every chunk:

- ``raw.npy``: every chunk vector, L2-normalised (float32, memory-mapped on load; also lets an ingest in a later
  process add to the index without reading Chroma);
- ``search.npy``: the same vectors **language-centred** (below), normalised — what the exact search multiplies;
- ``bm25_*.npy``: the BM25 index as flat arrays (``FrozenBM25``), memory-mapped on load like the matrices;
- ``index.pkl``: chunk ids, each chunk's language, the language centroids and the manifest *generation* the files
  were written for. A store whose manifest generation differs (another process ingested
  or deleted) rebuilds them from the manifest and Chroma.

**Language centring.** A multilingual embedding puts every Korean text closer to every other Korean text than
to an English text about the same thing: with multilingual-e5-small, Korean questions ranked English documents
last (dev ko→en hit@5 0.06 on the two-company set). Subtracting each language's mean vector, computed from the
company's own chunks, removes most of that shared "language direction" (Libovický et al., "On the Language
Neutrality of Pre-trained Multilingual Representations", 2020): documents are centred with their language's
mean, the query with the mean of its own language. A store with only one language (at least
``MIN_CHUNKS_PER_LANG`` chunks of it) estimates the other language's mean with ``complete``.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from factorypilot.knowledge._bm25 import BM25, BM25Index, FrozenBM25

__all__ = ["MIN_CHUNKS_PER_LANG", "Snapshot", "centre", "centroids", "complete", "load", "save", "text_lang"]

log = logging.getLogger("factorypilot.knowledge")

Matrix = npt.NDArray[np.float32]
MIN_CHUNKS_PER_LANG = 3
_FORMAT = 4  # 4: BM25 as memory-mapped arrays (3: pickled dicts)
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_WORD = re.compile(r"[^\W_]", re.UNICODE)


def text_lang(text: str) -> str:
    """``ko`` when at least a fifth of the letters are Hangul syllables, else ``en``."""
    letters = len(_WORD.findall(text))
    return "ko" if letters and len(_HANGUL.findall(text)) >= 0.2 * letters else "en"


def _normalise(mat: Matrix) -> Matrix:
    norms = np.linalg.norm(mat, axis=-1, keepdims=True)
    return (mat / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def centroids(raw: Matrix, langs: list[str]) -> dict[str, Matrix]:
    """Mean (normalised) vector of each language that has at least ``MIN_CHUNKS_PER_LANG`` chunks."""
    arr = np.asarray(langs)
    return {lang: raw[arr == lang].mean(axis=0).astype(np.float32) for lang in ("ko", "en")
            if int((arr == lang).sum()) >= MIN_CHUNKS_PER_LANG}


def complete(cents: dict[str, Matrix], seed: dict[str, Matrix]) -> dict[str, Matrix]:
    """A one-language store: the missing language's mean estimated as the present one plus the language offset
    measured on a bilingual seed (the built-in glossary's words in both languages), so that a question in the other
    language is still centred on the right side — and scores keep the scale the abstention threshold was chosen
    on."""
    if len(cents) != 1:
        return cents
    (have, vec), = cents.items()
    missing = "en" if have == "ko" else "ko"
    return {have: vec, missing: (vec + seed[missing] - seed[have]).astype(np.float32)}


def centre(vectors: Matrix, langs: list[str], cents: dict[str, Matrix], alpha: float) -> Matrix:
    """Rows minus ``alpha`` × their language's centroid, re-normalised (unchanged when ``cents`` is empty)."""
    if not cents or alpha == 0.0 or len(vectors) == 0:
        return _normalise(np.asarray(vectors, dtype=np.float32))
    shift = np.stack([cents[lang] for lang in langs]).astype(np.float32)
    return _normalise(np.asarray(vectors, dtype=np.float32) - alpha * shift)


@dataclass
class Snapshot:
    generation: int
    embedder: str
    dim: int
    ids: list[str]
    langs: list[str]
    raw: Matrix
    search: Matrix
    cents: dict[str, Matrix] = field(default_factory=dict)
    bm25: BM25 = field(default_factory=BM25Index)
    alpha: float = 0.0


def save(folder: Path, snap: Snapshot) -> None:
    """Write the files atomically (temp file + rename); ``index.pkl`` last, so a reader never pairs new metadata
    with old matrices."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, mat in (("raw.npy", snap.raw), ("search.npy", snap.search)):
        tmp = folder / f".{name}.{os.getpid()}.tmp"
        with tmp.open("wb") as fh:
            np.save(fh, np.ascontiguousarray(mat, dtype=np.float32))
        os.replace(tmp, folder / name)
    frozen = snap.bm25.freeze(snap.ids)
    suffix = f".{os.getpid()}.tmp"
    frozen.save(folder, suffix)
    for name in FrozenBM25.ARRAYS:
        os.replace(folder / f"bm25_{name}{suffix}", folder / f"bm25_{name}.npy")
    meta = {"format": _FORMAT, "generation": snap.generation, "embedder": snap.embedder, "dim": snap.dim,
            "ids": snap.ids, "langs": snap.langs, "cents": snap.cents, "alpha": snap.alpha,
            "bm25_postings": len(frozen.docs), "bm25_terms": len(frozen.terms)}
    tmp = folder / f".index.pkl.{os.getpid()}.tmp"
    with tmp.open("wb") as fh:
        pickle.dump(meta, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, folder / "index.pkl")


def load(folder: Path, generation: int, embedder: str, dim: int) -> Snapshot | None:
    """The persisted index if it was written for this manifest generation and embedder, else None."""
    try:
        with (folder / "index.pkl").open("rb") as fh:
            meta = pickle.load(fh)  # our own file, written by save() above in the company's store directory
        if (meta.get("format"), meta.get("generation"), meta.get("embedder"), meta.get("dim")) != (
                _FORMAT, generation, embedder, dim):
            return None
        raw = np.load(folder / "raw.npy", mmap_mode="r")
        search = np.load(folder / "search.npy", mmap_mode="r")
        bm25 = FrozenBM25.load(folder, list(meta["ids"]))
        if (len(bm25.docs), len(bm25.terms)) != (meta["bm25_postings"], meta["bm25_terms"]):
            raise ValueError("BM25 arrays of another write")
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, KeyError, AttributeError) as exc:
        log.info("query index in %s not usable (%s); rebuilding", folder, exc)
        return None
    n = len(meta["ids"])
    if raw.shape != (n, dim) or search.shape != (n, dim):
        return None
    return Snapshot(generation, embedder, dim, list(meta["ids"]), list(meta["langs"]), raw, search,
                    dict(meta["cents"]), bm25, float(meta.get("alpha", -1.0)))
