"""The agent's retrieval tool: a LangChain ``StructuredTool`` closed over one store, so it can only ever search
that company's documents — the company is not a parameter the model could change."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from factorypilot.knowledge._models import Answer, Filters, Hit

if TYPE_CHECKING:
    from factorypilot.knowledge._store import KnowledgeStore

__all__ = ["format_answer", "format_hits", "make_tool"]


class _Args(BaseModel):
    query: str = Field(description="what to look up, in Korean or English")
    equipment: str | None = Field(default=None, description="only documents about this equipment id")
    doc_type: str | None = Field(default=None, description="only this document type, e.g. sop, manual, incident")


def format_hits(hits: list[Hit]) -> str:
    """Numbered passages, each followed by its citation — what the model reads and the report prints."""
    if not hits:
        return "No matching documents."
    parts = [f"[{i}] {h.text}\n    source: {h.citation}" for i, h in enumerate(hits, start=1)]
    return "\n\n".join(parts)


def format_answer(answer: Answer) -> str:
    """The hits, or — when the evidence is too weak — a plain "no answer in <company>'s documents" first, so a
    model reading it does not take the closest passages for an answer."""
    if answer.answerable:
        return format_hits(answer.hits)
    head = (f"NOT ANSWERABLE: no answer in {answer.company}'s documents ({why_not(answer)}). Say so; do not "
            "answer from the passages below.")
    return head if not answer.hits else f"{head}\n\nClosest passages (not an answer):\n\n{format_hits(answer.hits)}"


def why_not(answer: Answer) -> str:
    """Why ``answer`` is not answerable, in English (the agent tool) — identifiers first, they are the sharper."""
    if answer.missing:
        return f"{', '.join(answer.missing)} appears in none of the passages"
    if answer.llm is not None and answer.llm.judge == "not answered":
        return f"judged by the local model {answer.llm.model}: the passages do not state the answer"
    return f"evidence {answer.evidence:.2f} < {answer.threshold:.2f}"


def _artifact(answer: Answer) -> dict[str, Any]:
    """The tool's artifact: ``{"answerable", "evidence", "threshold", "missing", "hits": [Hit as JSON]}``, plus
    ``"llm"`` (what the local model did) when one is configured."""
    keys = {"answerable", "evidence", "threshold", "missing", "hits"}
    return answer.model_dump(mode="json", include=keys if answer.llm is None else keys | {"llm"})


def make_tool(store: KnowledgeStore, *, name: str, k: int) -> BaseTool:
    def _filters(equipment: str | None, doc_type: str | None) -> Filters:
        return Filters(equipment=equipment, doc_type=doc_type)

    def run(query: str, equipment: str | None = None, doc_type: str | None = None) -> tuple[str, dict[str, Any]]:
        answer = store.ask(query, k=k, filters=_filters(equipment, doc_type))
        return format_answer(answer), _artifact(answer)

    async def arun(query: str, equipment: str | None = None,
                   doc_type: str | None = None) -> tuple[str, dict[str, Any]]:
        answer = await store.aask(query, k=k, filters=_filters(equipment, doc_type))
        return format_answer(answer), _artifact(answer)

    return StructuredTool.from_function(
        func=run,
        coroutine=arun,
        name=name,
        description=(f"Search {store.company}'s own manuals, SOPs, maintenance logs, quality records and incident "
                     "reports (Korean and English). Returns passages with citations (file § section [chunk id]); "
                     "cite them in answers. When it says NOT ANSWERABLE, the documents hold no answer: say so."),
        args_schema=_Args,
        response_format="content_and_artifact",
    )
