"""Chat-model configuration, the 'no real model requests' switch, and the FakeChatModel test double."""

from __future__ import annotations

import importlib.util
import logging
import sys

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, SecretStr

from factorypilot.agents import PlanContext
from factorypilot.agents.planners.llm import ChatModelConfig, LLMPlanner, make_chat_model
from factorypilot.errors import ConfigError, DependencyMissing, ModelUnavailableError
from factorypilot.settings import get_settings
from factorypilot.testing import FakeChatModel, estimate_tokens, tool_call
from factorypilot.vocabulary import Event

from .conftest import make_config

HAS_OPENAI = importlib.util.find_spec("langchain_openai") is not None
HAS_OLLAMA = importlib.util.find_spec("langchain_ollama") is not None
VLLM = {"type": "llm", "provider": "openai", "model": "qwen2.5-7b-instruct", "base_url": "http://127.0.0.1:9/v1"}


def allow_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACTORYPILOT_ALLOW_MODEL_REQUESTS", "true")
    get_settings.cache_clear()


def test_real_model_requests_raise_under_the_test_setting() -> None:
    assert get_settings().allow_model_requests is False
    for provider in ("openai", "ollama"):
        with pytest.raises(ModelUnavailableError, match="disabled") as info:
            make_chat_model(VLLM | {"provider": provider})
        assert "FACTORYPILOT_ALLOW_MODEL_REQUESTS=false" in str(info.value)
        assert "FakeChatModel" in str(info.value)


@pytest.mark.skipif(not HAS_OPENAI, reason="the [llm] extra (langchain-openai) is not installed")
async def test_a_real_model_built_earlier_still_cannot_be_called(monkeypatch: pytest.MonkeyPatch) -> None:
    allow_models(monkeypatch)
    model = make_chat_model(VLLM)
    planner = LLMPlanner(model)  # allowed at this point
    monkeypatch.setenv("FACTORYPILOT_ALLOW_MODEL_REQUESTS", "false")
    get_settings.cache_clear()
    with pytest.raises(ModelUnavailableError, match=r"qwen2\.5-7b-instruct"):
        LLMPlanner(model)
    ctx = PlanContext(run_id="r", events=[Event(tag_id="cnc1.vib")], roles=make_config().roles)
    with pytest.raises(ModelUnavailableError):
        await planner.plan(ctx)  # raises before any request: nothing listens on 127.0.0.1:9 anyway


def test_fake_model_is_allowed_under_the_test_setting() -> None:
    assert LLMPlanner(FakeChatModel()).model_name == "fake-chat"


@pytest.mark.skipif(not HAS_OPENAI, reason="the [llm] extra (langchain-openai) is not installed")
def test_openai_compatible_model_from_yaml_keeps_the_key_secret(monkeypatch: pytest.MonkeyPatch,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    allow_models(monkeypatch)
    monkeypatch.setenv("MY_LLM_KEY", "sk-very-secret-123")
    caplog.set_level(logging.DEBUG, logger="factorypilot")
    model = make_chat_model(VLLM | {"api_key_env": "MY_LLM_KEY", "temperature": 0})
    assert type(model).__name__ == "ChatOpenAI"
    key = model.openai_api_key  # type: ignore[attr-defined]
    assert isinstance(key, SecretStr)
    assert key.get_secret_value() == "sk-very-secret-123"
    assert "sk-very-secret-123" not in repr(model)
    assert "sk-very-secret-123" not in repr(ChatModelConfig(**VLLM, api_key_env="MY_LLM_KEY"))
    assert "sk-very-secret-123" not in caplog.text


@pytest.mark.skipif(not HAS_OPENAI, reason="the [llm] extra (langchain-openai) is not installed")
def test_openai_without_key_or_base_url_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    allow_models(monkeypatch)
    with pytest.raises(ConfigError, match="API key"):
        make_chat_model({"provider": "openai", "model": "gpt-4o-mini", "api_key_env": "NOT_SET_ANYWHERE_42"})


@pytest.mark.skipif(not HAS_OLLAMA, reason="the [llm] extra (langchain-ollama) is not installed")
def test_ollama_model_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    allow_models(monkeypatch)
    monkeypatch.setenv("FACTORYPILOT_LLM_PROVIDER", "ollama")
    monkeypatch.setenv("FACTORYPILOT_LLM_MODEL", "qwen2.5:7b-instruct")
    monkeypatch.setenv("FACTORYPILOT_LLM_BASE_URL", "http://127.0.0.1:9")
    model = make_chat_model(ChatModelConfig())
    assert type(model).__name__ == "ChatOllama"
    assert model.model == "qwen2.5:7b-instruct"  # type: ignore[attr-defined]


def test_missing_extra_names_the_install_line(monkeypatch: pytest.MonkeyPatch) -> None:
    allow_models(monkeypatch)
    monkeypatch.setitem(sys.modules, "langchain_openai", None)  # makes `import langchain_openai` fail
    monkeypatch.setitem(sys.modules, "langchain_ollama", None)
    for provider in ("openai", "ollama"):
        with pytest.raises(DependencyMissing) as info:
            make_chat_model(VLLM | {"provider": provider})
        assert 'pip install "factorypilot[llm]"' in str(info.value)


def test_bad_planner_config_is_refused() -> None:
    with pytest.raises(ConfigError, match="tempurature"):
        make_chat_model(VLLM | {"tempurature": 0})
    with pytest.raises(ConfigError, match="provider"):
        make_chat_model(VLLM | {"provider": "anthropic-cloud"})
    with pytest.raises(ConfigError, match="model name"):
        make_chat_model({"provider": "ollama"})


def test_fake_chat_model_records_prompts_tools_and_usage() -> None:
    fake = FakeChatModel(script=[AIMessage("", tool_calls=[tool_call("propose_plan", "c1", diagnosis="ok")])])
    bound = fake.bind_tools([Echo])
    reply = bound.invoke([SystemMessage("규칙"), HumanMessage("진동 경보")])
    assert reply.tool_calls[0]["id"] == "c1"
    assert fake.tools_seen[0][0]["function"]["name"] == "Echo"
    assert [m.content for m in fake.received[0]] == ["규칙", "진동 경보"]
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["input_tokens"] == fake.usage_input_tokens[0] > 0
    with pytest.raises(ValueError, match="script is exhausted"):
        fake.invoke("again")


def test_fake_chat_model_refuses_a_dangling_tool_call_like_a_real_server() -> None:
    fake = FakeChatModel(script=["fine"])
    history = [HumanMessage("hi"), AIMessage("", tool_calls=[tool_call("read_tags", "c9", tags=["x"])])]
    with pytest.raises(ValueError, match=r"\['c9'\] have no ToolMessage"):
        fake.invoke(history)


def test_token_estimate_counts_hangul_per_character() -> None:
    assert estimate_tokens("abcd" * 100) == 100
    assert estimate_tokens("주축 진동") == 5  # 4 syllables + 1 space (rounded up)


class Echo(BaseModel):
    """Echo a text."""

    text: str
