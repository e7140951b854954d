"""Turning files into chunks: walk folders, hash, load, split, tokenize. No store state here."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_text_splitters import RecursiveCharacterTextSplitter

from factorypilot.knowledge._config import KnowledgeConfig
from factorypilot.knowledge._loaders import load_file
from factorypilot.knowledge._manifest import ChunkRow

__all__ = ["IngestProgress", "Target", "chunk_file", "embed_text", "expand", "sha256_bytes"]


@dataclass(frozen=True)
class Target:
    """One file to ingest: the real path and the name citations show (relative to the folder given)."""

    path: Path
    display: str


@dataclass(frozen=True)
class IngestProgress:
    """Reported after each file: ``done`` of ``total`` files, chunks embedded so far."""

    done: int
    total: int
    path: Path
    chunks_embedded: int


def expand(paths: Iterable[Path | str]) -> tuple[list[Target], list[Path]]:
    """Files under the given paths (folders recursively, sorted; dot-files and dot-folders skipped).

    Returns the targets and the paths that do not exist.
    """
    targets: list[Target] = []
    missing: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p)
                if f.is_file() and not any(part.startswith(".") for part in rel.parts):
                    targets.append(Target(f.resolve(), rel.as_posix()))
        elif p.is_file():
            targets.append(Target(p.resolve(), p.name))
        else:
            missing.append(p)
    unique: dict[Path, Target] = {}
    for t in targets:
        unique.setdefault(t.path, t)  # a file named twice (folder + file) is ingested once
    return list(unique.values()), missing


def sha256_bytes(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def embed_text(text: str, meta: dict[str, Any]) -> str:
    """What gets embedded and BM25-indexed: the title/section as context, then the chunk text."""
    head = " — ".join(str(x) for x in (meta.get("title"), meta.get("section")) if x)
    return f"{head}\n{text}" if head else text


def chunk_file(target: Target, raw: bytes, sha: str, defaults: dict[str, str | int], config: KnowledgeConfig,
               tokenize: Callable[[Sequence[str]], list[list[str]]]) -> list[ChunkRow]:
    """Load, split and tokenize one file. Raises ``DataError`` for bad input (reported per file by the store)."""
    loaded = load_file(target.path, raw)
    doc_meta: dict[str, str | int] = {**defaults, **loaded.meta}
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=config.chunk_size, chunk_overlap=config.chunk_overlap,
        separators=["\n\n", "\n", ". ", "다. ", "。", " ", ""])
    pieces: list[tuple[str, dict[str, Any]]] = []
    for section in loaded.sections:
        for text in splitter.split_text(section.page_content):
            if text.strip():
                pieces.append((text.strip(), section.metadata))
    rows: list[ChunkRow] = []
    texts = [embed_text(t, {**doc_meta, **m}) for t, m in pieces]
    tokens = tokenize(texts)
    for i, ((text, smeta), toks) in enumerate(zip(pieces, tokens, strict=True)):
        cid = f"{sha[:16]}-{i:04d}"
        meta: dict[str, Any] = {
            **doc_meta,
            "file": target.display,
            "source": str(target.path),
            "section": str(smeta.get("section", "")),
            "chunk_index": i,
            "ext": target.path.suffix.lower().lstrip("."),
            "sha256": sha,
        }
        if smeta.get("page") is not None:
            meta["page"] = int(smeta["page"])
        rows.append(ChunkRow(cid, str(target.path), text, toks, meta))
    return rows
