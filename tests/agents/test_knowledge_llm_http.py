"""The knowledge store's local model over real HTTP: consecutive calls all reach the server.

Regression for a bug the first real-model run found: each call ran on a fresh ``asyncio.run`` loop, which closed the
loop the OpenAI client's connection pool was bound to, so every second request failed ("Event loop is closed") and
silently fell back. A stdlib OpenAI-compatible stub on 127.0.0.1 answers; no model is involved."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from factorypilot.agents.knowledge_llm import knowledge_assist

from ._http_stub import JsonHandler, allowed_model_server

_LAST = 3  # requests in the test; the last answer closes the keep-alive connection


class _Handler(JsonHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as llama.cpp's server: the client's pooled connection is reused

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_json({"object": "list", "data": [{"id": "stub", "object": "model"}]})

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.read_json()
        props = body.get("response_format", {}).get("json_schema", {}).get("schema", {}).get("properties", {})
        content = json.dumps({"passage": 1, "answered": True} if "answered" in props
                             else {"translation": f"coolant concentration {len(_Handler.seen)}"})
        self.send_json({"id": "c1", "object": "chat.completion", "created": 0, "model": "stub",
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": content}}],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}},
                       close=len(_Handler.seen) >= _LAST)


@pytest.fixture
def stub_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with allowed_model_server(_Handler, monkeypatch) as url:
        yield url


def test_consecutive_model_calls_all_reach_the_server(stub_server: str) -> None:
    assist = knowledge_assist({"provider": "openai", "base_url": stub_server, "model": "stub", "timeout_s": 30,
                               "max_retries": 0})
    questions = ["절삭유 농도 기준은?", "스핀들 베어링 교체 주기는?", "유압 펌프 점검 방법은?"]
    out = [assist.translate_question(q, "en") for q in questions]
    assert [t.problem for t in out] == ["", "", ""]
    assert [t.text for t in out] == [f"coolant concentration {i}" for i in (1, 2, 3)]
    assert len(_Handler.seen) == 3  # each question went to the server (distinct questions: no cache hit)
    assert all(b["response_format"]["type"] == "json_schema" for b in _Handler.seen)
