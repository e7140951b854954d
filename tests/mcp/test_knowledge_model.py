"""search_documents honours FACTORYPILOT_KNOWLEDGE_LLM like `knowledge query --llm` and the pilot runtime: the
store the MCP server opens gets the local model (here the library's fake chat model: no network), whose judge can
turn an answer into "no answer"; unset, the server opens the store without it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client

from factorypilot.knowledge import KnowledgeStore
from factorypilot.mcp import Deployment, build_server
from factorypilot.pilots.runtime import reference_pilots
from factorypilot.settings import get_settings
from factorypilot.testing import FakeChatModel

QUESTION = "주축 진동이 높을 때 이송 오버라이드 조치"


async def _search(home: Path) -> dict[str, object]:
    async with Client(build_server(Deployment(home=home, companies={"acme"}))) as client:
        result = await client.call_tool("search_documents", {"query": QUESTION, "k": 3})
    assert not result.is_error, result.content
    return json.loads(result.content[0].text)  # type: ignore[union-attr,no-any-return]


async def test_search_documents_uses_the_local_model_only_when_set(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from factorypilot.agents import knowledge_llm

    home = tmp_path / "home"
    with KnowledgeStore.open("acme", home=home) as store:
        store.ingest(reference_pilots()["mobility"].parent / "knowledge")
    fakes: list[FakeChatModel] = []

    def fake_model(cfg: object) -> FakeChatModel:
        fakes.append(FakeChatModel(model_name="mcp-judge", script=[
            "spindle vibration high: feed override action", '{"passage": 0, "answered": false}']))
        return fakes[-1]

    monkeypatch.setattr(knowledge_llm, "make_chat_model", fake_model)
    monkeypatch.setenv("FACTORYPILOT_LLM_MODEL", "x")
    try:
        monkeypatch.setenv("FACTORYPILOT_KNOWLEDGE_LLM", "false")
        get_settings.cache_clear()
        plain = await _search(home)
        assert (plain["answerable"], fakes) == (True, [])

        monkeypatch.setenv("FACTORYPILOT_KNOWLEDGE_LLM", "true")
        get_settings.cache_clear()
        judged = await _search(home)
        assert judged["answerable"] is False  # the judge said the passages do not state the answer
        assert judged["hits"]  # the closest passages are still shown, with their citations
        [fake] = fakes
        assert fake.calls == 2  # one translation, one judgement
    finally:
        get_settings.cache_clear()
