"""The knowledge store's local model over real HTTP: consecutive calls all reach the server.

Regression for a bug the first real-model run found: each call ran on a fresh ``asyncio.run`` loop, which closed the
loop the OpenAI client's connection pool was bound to, so every second request failed ("Event loop is closed") and
silently fell back. A stdlib OpenAI-compatible stub on 127.0.0.1 answers; no model is involved."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from factorypilot.agents.knowledge_llm import knowledge_assist
from factorypilot.settings import get_settings

_LAST = 3  # requests in the test; the last answer closes the keep-alive connection


class _Handler(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, Any]]] = []
    protocol_version = "HTTP/1.1"  # keep-alive, as llama.cpp's server: the client's pooled connection is reused

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, obj: dict[str, Any], last: bool = False) -> None:
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if last:  # the client then closes its pooled connection: nothing is left open after the test
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._send({"object": "list", "data": [{"id": "stub", "object": "model"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Handler.seen.append(body)
        props = body.get("response_format", {}).get("json_schema", {}).get("schema", {}).get("properties", {})
        content = json.dumps({"passage": 1, "answered": True} if "answered" in props
                             else {"translation": f"coolant concentration {len(_Handler.seen)}"})
        self._send({"id": "c1", "object": "chat.completion", "created": 0, "model": "stub",
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}},
                   last=len(_Handler.seen) >= _LAST)


@pytest.fixture
def stub_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("FACTORYPILOT_ALLOW_MODEL_REQUESTS", "true")
    get_settings.cache_clear()
    _Handler.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
        get_settings.cache_clear()


def test_consecutive_model_calls_all_reach_the_server(stub_server: str) -> None:
    assist = knowledge_assist({"provider": "openai", "base_url": stub_server, "model": "stub", "timeout_s": 30,
                               "max_retries": 0})
    questions = ["절삭유 농도 기준은?", "스핀들 베어링 교체 주기는?", "유압 펌프 점검 방법은?"]
    out = [assist.translate_question(q, "en") for q in questions]
    assert [t.problem for t in out] == ["", "", ""]
    assert [t.text for t in out] == [f"coolant concentration {i}" for i in (1, 2, 3)]
    assert len(_Handler.seen) == 3  # each question went to the server (distinct questions: no cache hit)
    assert all(b["response_format"]["type"] == "json_schema" for b in _Handler.seen)
