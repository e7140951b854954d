"""``ask()`` with the optional local model (:class:`~factorypilot.knowledge._assist.LLMAssist`): the question is
also searched in the store's other language and the two rankings are fused; then the model judges whether the top
passages answer. Every failure keeps the result without the model and is listed in ``Answer.llm.problems``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from factorypilot.knowledge._config import KnowledgeConfig
from factorypilot.knowledge._index import text_lang
from factorypilot.knowledge._models import Answer, AssistNote, Filters
from factorypilot.knowledge._retrieve import rrf

if TYPE_CHECKING:
    from factorypilot.knowledge._assist import LLMAssist
    from factorypilot.knowledge._store import KnowledgeStore

__all__ = ["judged", "target_language", "translated"]

Ranked = list[tuple[str, float]]


def target_language(question: str, store_langs: set[str]) -> str | None:
    """The store's other language (``ko``/``en``) when it holds text in a language the question is not in."""
    others = sorted(store_langs - {text_lang(question)})
    return others[0] if others else None


def translated(store: KnowledgeStore, assist: LLMAssist, text: str, fused: Ranked, k: int,
               filters: Filters | dict[str, Any] | None) -> tuple[Ranked, AssistNote]:
    """``fused`` fused (weighted RRF) with the ranking of ``text`` translated into the store's other language;
    unchanged when translation is off, not needed, or failed (the failure is in the note)."""
    note = AssistNote(model=assist.name)
    cfg = store.config
    target = target_language(text, set(store._langs.values())) if assist.translate and cfg.llm_translate else None
    if target is None:
        return fused, note
    tr = assist.translate_question(text, target)
    if tr.text is None:
        return fused, note.model_copy(update={"problems": [f"{tr.problem}; searched with the question as asked"]})
    other, _, _ = store._rank(tr.text, k, filters, "hybrid")
    w = cfg.llm_translate_weight
    merged = rrf([[c for c, _ in fused], [c for c, _ in other]], k=cfg.rrf_k, weights=[1.0 - w, w])
    return merged, note.model_copy(update={"translation": tr.text})


def judged(cfg: KnowledgeConfig, assist: LLMAssist, answer: Answer, note: AssistNote) -> Answer:
    """``answer`` after the judge: asked only when the score rule would answer; "no" makes it not answerable."""
    if not (assist.judge and cfg.llm_judge) or not answer.answerable or not answer.hits:
        return answer.model_copy(update={"llm": note})
    j = assist.judge_passages(answer.question, answer.hits[:cfg.llm_passages], cfg.llm_passage_chars)
    if j.answered is None:
        problems = [*note.problems, f"{j.problem}; the score rule's verdict was kept"]
        return answer.model_copy(update={"llm": note.model_copy(update={"judge": "failed", "problems": problems})})
    if j.answered:
        return answer.model_copy(update={"llm": note.model_copy(update={"judge": "answered", "passage": j.passage})})
    return answer.model_copy(update={"answerable": False,
                                     "llm": note.model_copy(update={"judge": "not answered"})})
