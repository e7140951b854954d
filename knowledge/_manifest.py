"""The per-company manifest (SQLite): which files are in the store, their content hash, and every chunk's text,
tokens and metadata. It is the source of truth for idempotent re-ingest and for rebuilding the BM25 index."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["ChunkRow", "FileRow", "Manifest"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    source TEXT PRIMARY KEY, file TEXT NOT NULL, sha256 TEXT NOT NULL, chunks INTEGER NOT NULL,
    ext TEXT NOT NULL, doc_type TEXT, ingested_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS files_sha ON files(sha256);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY, source TEXT NOT NULL, text TEXT NOT NULL, tokens TEXT NOT NULL,
    meta TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_source ON chunks(source);
"""
_SEP = "\x1f"


@dataclass(frozen=True)
class FileRow:
    source: str
    file: str
    sha256: str
    chunks: int
    ext: str
    doc_type: str | None


@dataclass(frozen=True)
class ChunkRow:
    chunk_id: str
    source: str
    text: str
    tokens: list[str]
    meta: dict[str, Any]


class Manifest:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def file(self, source: str) -> FileRow | None:
        with self._lock:
            row = self._db.execute("SELECT source, file, sha256, chunks, ext, doc_type FROM files WHERE source=?",
                                   (source,)).fetchone()
        return None if row is None else FileRow(*row)

    def file_with_sha(self, sha256: str) -> FileRow | None:
        with self._lock:
            row = self._db.execute("SELECT source, file, sha256, chunks, ext, doc_type FROM files WHERE sha256=?",
                                   (sha256,)).fetchone()
        return None if row is None else FileRow(*row)

    def files(self) -> list[FileRow]:
        with self._lock:
            rows = self._db.execute("SELECT source, file, sha256, chunks, ext, doc_type FROM files "
                                    "ORDER BY file").fetchall()
        return [FileRow(*r) for r in rows]

    def chunk_ids(self, source: str) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT chunk_id FROM chunks WHERE source=? ORDER BY chunk_id",
                                    (source,)).fetchall()
        return [str(r[0]) for r in rows]

    def generation(self) -> int:
        """Bumped by every change of the chunks (any process): the persisted query index is stamped with it."""
        return int(self.get_meta("generation") or 0)

    def _bump(self) -> None:
        self._db.execute("INSERT INTO meta(key, value) VALUES ('generation', '1') ON CONFLICT(key) "
                         "DO UPDATE SET value = CAST(value AS INTEGER) + 1")

    def rows(self, ids: Iterable[str]) -> dict[str, ChunkRow]:
        """The given chunks (those that exist), by id."""
        wanted = list(dict.fromkeys(ids))
        out: dict[str, ChunkRow] = {}
        with self._lock:
            for i in range(0, len(wanted), 500):
                part = wanted[i:i + 500]
                marks = ",".join("?" * len(part))
                q = f"SELECT chunk_id, source, text, tokens, meta FROM chunks WHERE chunk_id IN ({marks})"
                for cid, source, text, tokens, meta in self._db.execute(q, part).fetchall():
                    out[cid] = ChunkRow(cid, source, text, tokens.split(_SEP) if tokens else [], json.loads(meta))
        return out

    def metas(self) -> dict[str, dict[str, Any]]:
        """Every chunk's metadata, by id (for metadata filters)."""
        with self._lock:
            rows = self._db.execute("SELECT chunk_id, meta FROM chunks").fetchall()
        return {cid: json.loads(meta) for cid, meta in rows}

    def chunks(self) -> Iterator[ChunkRow]:
        with self._lock:
            rows = self._db.execute("SELECT chunk_id, source, text, tokens, meta FROM chunks").fetchall()
        for cid, source, text, tokens, meta in rows:
            yield ChunkRow(cid, source, text, tokens.split(_SEP) if tokens else [], json.loads(meta))

    def count_chunks(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def replace_file(self, row: FileRow, chunks: Iterable[ChunkRow]) -> None:
        """Drop the file's old chunks and write the new ones, in one transaction."""
        now = datetime.now(UTC).isoformat()
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.execute("DELETE FROM chunks WHERE source=?", (row.source,))
                self._db.executemany(
                    "INSERT OR REPLACE INTO chunks(chunk_id, source, text, tokens, meta) VALUES (?, ?, ?, ?, ?)",
                    [(c.chunk_id, c.source, c.text, _SEP.join(c.tokens), json.dumps(c.meta, ensure_ascii=False))
                     for c in chunks])
                self._db.execute(
                    "INSERT OR REPLACE INTO files(source, file, sha256, chunks, ext, doc_type, ingested_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (row.source, row.file, row.sha256, row.chunks, row.ext, row.doc_type, now))
                self._bump()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def remove_file(self, source: str) -> list[str]:
        """Forget a file; returns the chunk ids it had."""
        with self._lock:
            ids = self.chunk_ids(source)
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM chunks WHERE source=?", (source,))
            self._db.execute("DELETE FROM files WHERE source=?", (source,))
            self._bump()
            self._db.execute("COMMIT")
        return ids
