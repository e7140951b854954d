"""The knowledge store's optional local model (judge + ko/en translator, ``knowledge._assist``) built from the
same chat-model settings as the LLM planner: the spec's ``planner:`` block or ``FACTORYPILOT_LLM_*`` (provider,
model, base_url, timeout_s, max_retries, max_tokens). The knowledge layer never imports this package; the CLI and
the pilot runtime call :func:`knowledge_assist` and inject the result (``KnowledgeStore.open(..., assist=...)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from factorypilot.agents.planners._llm_models import ChatModelConfig, _config, make_chat_model, model_name_of
from factorypilot.knowledge._assist import LLMAssist, chat_model_fn

__all__ = ["knowledge_assist"]

# the judge replies {"passage": n, "answered": b}, the translator one short question: a small cap is plenty
_MAX_TOKENS = 160


def knowledge_assist(cfg: ChatModelConfig | Mapping[str, Any] | None = None, *, judge: bool = True,
                     translate: bool = True) -> LLMAssist:
    """An :class:`LLMAssist` over the configured chat model (no request is made here).

    Example: ``KnowledgeStore.open("acme", assist=knowledge_assist({"base_url": "http://127.0.0.1:8080/v1",
    "model": "qwen2.5-1.5b"}))``."""
    c = _config(cfg if cfg is not None else {})
    c = c.model_copy(update={"max_tokens": min(c.max_tokens, _MAX_TOKENS), "temperature": 0.0})
    model = make_chat_model(c)
    return LLMAssist(chat_model_fn(model, timeout_s=c.timeout_s, max_retries=c.max_retries),
                     name=model_name_of(model), judge=judge, translate=translate)
