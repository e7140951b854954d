"""Values the knowledge store hands out: hits with citations, filters, ingest reports, statistics."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Answer", "AssistNote", "Citation", "FileOutcome", "FileStatus", "Filters", "Hit", "IngestReport",
           "StoreStats"]


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Citation(_Value):
    """Where a hit came from: file (as ingested), page or section or sheet, and the chunk id."""

    file: str = Field(description="file name relative to the folder it was ingested from")
    source: str = Field(description="absolute path at ingest time")
    section: str = Field(default="", description="'page 3', a heading path 'A > B', or 'sheet X, rows 2-40'")
    page: int | None = None
    chunk_id: str

    def __str__(self) -> str:
        where = f" § {self.section}" if self.section else ""
        return f"{self.file}{where} [{self.chunk_id}]"


class Hit(_Value):
    """One retrieved chunk. ``score`` is the fused score (``KnowledgeConfig.fusion``) in hybrid mode, else the
    single method's score (cosine similarity or BM25)."""

    text: str
    score: float
    citation: Citation
    metadata: dict[str, str | int | float] = Field(default_factory=dict)
    vector_rank: int | None = None
    bm25_rank: int | None = None
    context: str = Field(default="", description="the chunk with its neighbours of the same section (an answer "
                                                 "cut at a chunk border is whole here)")


class Answer(_Value):
    """What :meth:`KnowledgeStore.ask` returns: the hits and whether they answer the question at all."""

    question: str
    company: str
    answerable: bool = Field(description="False: no passage is close enough — say there is no answer in the "
                                         "company's documents, do not answer from the hits")
    evidence: float = Field(description="strength of the best evidence (compared with ``threshold``)")
    threshold: float
    missing: list[str] = Field(default_factory=list, description="identifiers of the question (MC-35, a lot or "
                               "report number) that no hit contains; any makes the question not answerable")
    hits: list[Hit] = Field(default_factory=list)
    llm: AssistNote | None = Field(default=None, description="what the local model did (None: no model "
                                   "configured, the default); see docs/knowledge.md")


class AssistNote(_Value):
    """What the optional local model did for one :class:`Answer`."""

    model: str = Field(description="the model's name")
    translation: str | None = Field(default=None, description="the question in the store's other language, "
                                    "searched as well (None: not translated)")
    judge: Literal["answered", "not answered", "failed", "not asked"] = Field(
        default="not asked", description="the judge's verdict on the top passages; 'not answered' made the answer "
        "not answerable; 'failed' kept the score rule's verdict; 'not asked': off, or the score rule had refused")
    passage: int | None = Field(default=None, description="1-based hit the judge named as the answer")
    problems: list[str] = Field(default_factory=list, description="failures (timeout, unparsable reply); the "
                                "result without the model was kept for each")


Answer.model_rebuild()


class Filters(_Value):
    """Metadata filters; all given conditions must hold. Lists mean "any of"."""

    equipment: str | list[str] | None = None
    doc_type: str | list[str] | None = None
    date_from: date | None = None
    date_to: date | None = None
    file: str | None = None

    def is_empty(self) -> bool:
        return all(v is None for v in (self.equipment, self.doc_type, self.date_from, self.date_to, self.file))

    def matches(self, meta: dict[str, Any]) -> bool:
        """The same predicate the Chroma ``where`` clause expresses, for the BM25 side."""
        for key in ("equipment", "doc_type"):
            want = getattr(self, key)
            if want is None:
                continue
            wanted = [want] if isinstance(want, str) else want
            if meta.get(key) not in wanted:
                return False
        if self.file is not None and meta.get("file") != self.file:
            return False
        day = meta.get("date")
        if self.date_from is not None and (not isinstance(day, int) or day < _day(self.date_from)):
            return False
        return not (self.date_to is not None and (not isinstance(day, int) or day > _day(self.date_to)))

    def to_where(self) -> dict[str, Any] | None:
        """A Chroma ``where`` clause, or None."""
        clauses: list[dict[str, Any]] = []
        for key in ("equipment", "doc_type"):
            want = getattr(self, key)
            if want is None:
                continue
            clauses.append({key: want} if isinstance(want, str) else {key: {"$in": list(want)}})
        if self.file is not None:
            clauses.append({"file": self.file})
        if self.date_from is not None:
            clauses.append({"date": {"$gte": _day(self.date_from)}})
        if self.date_to is not None:
            clauses.append({"date": {"$lte": _day(self.date_to)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _day(d: date) -> int:
    """Dates are stored as ``YYYYMMDD`` integers so Chroma can range-filter them."""
    return d.year * 10000 + d.month * 100 + d.day


class FileStatus(StrEnum):
    ADDED = "added"
    REPLACED = "replaced"
    UNCHANGED = "unchanged"
    DUPLICATE = "duplicate"
    UNSUPPORTED = "unsupported"
    FAILED = "failed"


class FileOutcome(_Value):
    path: Path
    status: FileStatus
    chunks: int = 0
    error: str | None = None


class IngestReport(BaseModel):
    """Per-file outcome of one ingest call. Bad files are listed here; they never stop the others."""

    model_config = ConfigDict(extra="forbid")

    files: list[FileOutcome] = Field(default_factory=list)
    chunks_added: int = 0
    chunks_removed: int = 0

    def count(self, status: FileStatus) -> int:
        return sum(1 for f in self.files if f.status is status)

    @property
    def failed(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status in (FileStatus.FAILED, FileStatus.UNSUPPORTED)]


class StoreStats(_Value):
    company: str
    slug: str
    path: Path
    files: int
    chunks: int
    embedder: str
    dim: int
    tokenizer: str
    by_doc_type: dict[str, int] = Field(default_factory=dict)
    by_extension: dict[str, int] = Field(default_factory=dict)
