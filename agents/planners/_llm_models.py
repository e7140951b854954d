"""Chat-model configuration: ``planner: {type: llm, provider: ..., model: ...}`` → a LangChain chat model.

Providers: ``openai`` (any OpenAI-compatible server: OpenAI, vLLM, llama.cpp server, LM Studio — via
``langchain-openai``) and ``ollama`` (via ``langchain-ollama``). Both are the ``[llm]`` extra. Values come
from the YAML mapping, then from the environment (``FACTORYPILOT_LLM_PROVIDER``, ``FACTORYPILOT_LLM_MODEL``,
``FACTORYPILOT_LLM_BASE_URL``, ...). The API key is never in the YAML: ``api_key_env`` names the variable that
holds it, it is read into a ``SecretStr`` and never logged.

With ``FACTORYPILOT_ALLOW_MODEL_REQUESTS=false`` (the test suite) building or calling a real model raises
:class:`~factorypilot.errors.ModelUnavailableError`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from factorypilot.errors import ConfigError, DependencyMissing, ModelUnavailableError
from factorypilot.settings import get_settings

__all__ = ["ChatModelConfig", "ensure_model_requests_allowed", "make_chat_model", "model_name_of"]


class ChatModelConfig(BaseSettings):
    """The ``planner:`` block of a pilot (``type: llm``); unknown keys are refused."""

    model_config = SettingsConfigDict(env_prefix="FACTORYPILOT_LLM_", extra="forbid", frozen=True)

    type: Literal["llm"] = "llm"
    provider: Literal["openai", "ollama"] = "openai"
    model: str = ""
    base_url: str | None = None
    api_key_env: str | None = None
    temperature: float = 0.0
    timeout_s: float = 60.0
    max_retries: int = 2
    max_tokens: int = Field(default=600, ge=16, description="reply length cap: a rambling reply cannot eat the timeout")
    mode: Literal["tools", "json"] = Field(
        default="tools", description="tools: the model calls tools; json: one JSON plan constrained by a JSON "
                                     "schema (response_format) — use it for small local models (see llm check)")

    def api_key(self) -> SecretStr | None:
        if not self.api_key_env:
            return None
        value = os.environ.get(self.api_key_env)
        return SecretStr(value) if value else None


def ensure_model_requests_allowed(model: object | None = None, *, what: str = "a real chat model") -> None:
    """Raise unless real model requests are allowed. Test doubles declare ``requires_network = False``."""
    if model is not None and not getattr(type(model), "requires_network", True):
        return
    if not get_settings().allow_model_requests:
        raise ModelUnavailableError(
            f"requests to {what} are disabled in this process",
            where="FACTORYPILOT_ALLOW_MODEL_REQUESTS=false",
            hint="use factorypilot.testing.FakeChatModel in tests, or set FACTORYPILOT_ALLOW_MODEL_REQUESTS=true")


def model_name_of(model: object) -> str:
    for attr in ("model_name", "model"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__


def _config(cfg: ChatModelConfig | Mapping[str, Any]) -> ChatModelConfig:
    if isinstance(cfg, ChatModelConfig):
        return cfg
    try:
        return ChatModelConfig(**dict(cfg))
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"planner config invalid: {loc}: {first['msg']}", where="planner",
                          hint="keys: type, provider (openai|ollama), model, base_url, api_key_env, temperature, "
                               "timeout_s, max_retries, max_tokens, mode (tools|json)") from exc


def make_chat_model(cfg: ChatModelConfig | Mapping[str, Any]) -> BaseChatModel:
    """Build the configured chat model (no request is made here).

    Example: ``make_chat_model({"provider": "openai", "model": "qwen2.5-7b-instruct",
    "base_url": "http://localhost:8000/v1"})`` for a vLLM server.
    """
    c = _config(cfg)
    if not c.model:
        raise ConfigError("planner config needs a model name", where="planner.model",
                          hint="e.g. model: qwen2.5:7b-instruct (ollama) or the served model id (openai-compatible)")
    ensure_model_requests_allowed(what=f"the {c.provider} model {c.model!r}")
    if c.provider == "ollama":
        try:
            from langchain_ollama import ChatOllama
        except ImportError as exc:
            raise DependencyMissing("langchain-ollama", "llm", feature="the Ollama planner") from exc
        kwargs: dict[str, Any] = {"model": c.model, "temperature": c.temperature, "num_predict": c.max_tokens}
        if c.base_url:
            kwargs["base_url"] = c.base_url
        return ChatOllama(**kwargs)
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:
        raise DependencyMissing("langchain-openai", "llm", feature="the OpenAI-compatible planner") from exc
    key = c.api_key()
    if key is None:
        if c.base_url is None:
            raise ConfigError("the OpenAI API needs an API key", where="planner.api_key_env",
                              hint="set api_key_env to the name of the environment variable holding the key")
        key = SecretStr("not-needed")  # local OpenAI-compatible servers (vLLM, llama.cpp, LM Studio) ignore it
    return ChatOpenAI(model=c.model, base_url=c.base_url, api_key=key, temperature=c.temperature,
                      timeout=c.timeout_s, max_retries=0, max_completion_tokens=c.max_tokens,
                      stream_usage=True)
