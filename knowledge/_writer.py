"""Writing into a store: walk the paths, skip unchanged files (content hash), parse and chunk, embed in batches,
write Chroma then the manifest, and index the new chunks in memory. Called by ``KnowledgeStore.ingest`` under the
store's lock; the store persists its query index when the call ends."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from factorypilot.errors import DataError
from factorypilot.knowledge._ingest import IngestProgress, Target, chunk_file, embed_text, expand, sha256_bytes
from factorypilot.knowledge._loaders import SUPPORTED_SUFFIXES, date_int
from factorypilot.knowledge._manifest import FileRow
from factorypilot.knowledge._models import FileOutcome, FileStatus, IngestReport

if TYPE_CHECKING:
    from factorypilot.knowledge._store import KnowledgeStore

__all__ = ["ingest_paths"]

log = logging.getLogger("factorypilot.knowledge")


def ingest_paths(store: KnowledgeStore, paths: Iterable[Path | str] | Path | str, *, doc_type: str | None,
                 equipment: str | None, day: date | str | None,
                 progress: Callable[[IngestProgress], None] | None) -> IngestReport:
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    targets, missing = expand(items)
    companies = store.root.parent.resolve()
    targets = [t for t in targets if not t.path.is_relative_to(companies)]  # never ingest a store itself
    report = IngestReport()
    for p in missing:
        report.files.append(FileOutcome(path=p, status=FileStatus.FAILED,
                                        error=str(DataError("path not found", file=str(p)))))
    defaults: dict[str, str | int] = {}
    if doc_type:
        defaults["doc_type"] = doc_type
    if equipment:
        defaults["equipment"] = equipment
    if day:
        defaults["date"] = date_int(day, "ingest(date=...)")
    embedded = 0
    for n, target in enumerate(targets, start=1):
        outcome, added, removed = _ingest_one(store, target, defaults)
        report.files.append(outcome)
        report.chunks_added += added
        report.chunks_removed += removed
        embedded += added
        if progress is not None:
            progress(IngestProgress(n, len(targets), target.path, embedded))
    return report


def _ingest_one(store: KnowledgeStore, target: Target, defaults: dict[str, str | int]) -> tuple[FileOutcome, int, int]:
    path = target.path
    source = str(path)
    manifest = store._manifest
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        err = DataError(f"unsupported file type {path.suffix or '(none)'!r}", file=source,
                        hint=f"supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}")
        return FileOutcome(path=path, status=FileStatus.UNSUPPORTED, error=str(err)), 0, 0
    try:
        raw = path.read_bytes()
    except OSError as exc:
        err = DataError(f"cannot read file: {exc.strerror}", file=source, hint="check permissions")
        return FileOutcome(path=path, status=FileStatus.FAILED, error=str(err)), 0, 0
    sha = sha256_bytes(raw)
    old = manifest.file(source)
    if old is not None and old.sha256 == sha:
        return FileOutcome(path=path, status=FileStatus.UNCHANGED, chunks=old.chunks), 0, 0
    twin = manifest.file_with_sha(sha)
    if twin is not None and twin.source != source:
        removed = store._forget(source) if old is not None else 0
        return FileOutcome(path=path, status=FileStatus.DUPLICATE, chunks=0,
                           error=f"same content as {twin.file}, stored once"), 0, removed
    try:
        rows = chunk_file(target, raw, sha, defaults, store.config, store._tokenize)
    except DataError as exc:  # per-file problem: report it; an older good version stays searchable
        return FileOutcome(path=path, status=FileStatus.FAILED, error=str(exc)), 0, 0
    batch = store.config.batch_size
    # Embedded in batches of batch_size (bounded memory per call); a file's vectors are held until all are
    # computed so that a failure leaves the older version intact.
    vectors: Any = np.concatenate(
        [store._embedder.passages([embed_text(r.text, r.meta) for r in rows[i:i + batch]])
         for i in range(0, len(rows), batch)]) if rows else np.zeros((0, store._embedder.dim), dtype=np.float32)
    removed = store._forget(source) if old is not None else 0
    col = store._col
    for i in range(0, len(rows), batch):
        part = rows[i:i + batch]
        col.upsert(ids=[r.chunk_id for r in part], embeddings=vectors[i:i + batch], documents=[r.text for r in part],
                   metadatas=[r.meta for r in part])
    ext = path.suffix.lower().lstrip(".")
    doc_type = rows[0].meta.get("doc_type") if rows else None
    manifest.replace_file(FileRow(source, target.display, sha, len(rows), ext, doc_type), rows)
    store._add_chunks(rows, vectors)
    status = FileStatus.REPLACED if old is not None else FileStatus.ADDED
    log.info("%s %s: %d chunks", status.value, target.display, len(rows))
    return FileOutcome(path=path, status=status, chunks=len(rows)), len(rows), removed
