"""``llm check`` and ``llm serve`` without a model: a real HTTP server speaking the OpenAI chat API.

The stub server answers like llama.cpp does for a small model: structured output (``response_format``) gets a
valid JSON plan; a tool request gets a ```` ```json ```` fenced object instead of a tool call. Usage and
timings are the server's — the check must report those, not an estimate.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from factorypilot.agents.planners.llm_check import check_server
from factorypilot.agents.planners.local_server import LocalModelServer
from factorypilot.errors import ConfigError

from ._http_stub import JsonHandler, allowed_model_server

EXE = str(Path(sys.executable).with_name("factorypilot"))
PLAN = {"diagnosis": "spindle vibration high", "escalate": False,
        "actions": [{"kind": "write", "target": "feed_override", "value": "85", "reason": "lower the load"}]}


class _Handler(JsonHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_json({"object": "list", "data": [{"id": "stub-0.5b", "object": "model"}]})

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.read_json()
        if body.get("response_format"):
            content = json.dumps(PLAN)
        elif body.get("tools"):
            content = "Here is my plan:\n```json\n" + json.dumps(PLAN) + "\n```"
        else:
            content = '{"diagnosis": "test", "actions": []}'
        self.send_json({"id": "c1", "object": "chat.completion", "created": 0, "model": body.get("model"),
                       "choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": content}}],
                       "usage": {"prompt_tokens": 1234, "completion_tokens": 40, "total_tokens": 1274},
                       "timings": {"prompt_per_second": 130.0, "predicted_per_second": 14.5, "prompt_ms": 950.0}})


@pytest.fixture
def stub_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with allowed_model_server(_Handler, monkeypatch) as url:
        yield url


async def test_check_reports_modes_server_tokens_and_speed(stub_server: str) -> None:
    rep = await check_server(stub_server, timeout_s=30)
    assert rep.model == "stub-0.5b"
    assert (rep.prompt_tokens_per_s, rep.generation_tokens_per_s, rep.time_to_first_token_s) == (130.0, 14.5, 0.95)
    by_mode = {m.mode: m for m in rep.modes}
    assert by_mode["json"].valid_plan
    assert by_mode["json"].source == "llm"
    assert by_mode["tools"].valid_plan  # the fenced JSON was read as the plan
    assert by_mode["json"].prompt_tokens == 1234  # the server's count, not the estimate
    assert by_mode["json"].actions == ["write cnc1.feed=85"]  # the string "85" became a number
    assert by_mode["json"].guard == ["cnc1.feed: allowed (needs approval) / 허용 (승인 필요)"]  # waits for a person
    assert rep.recommended_mode == "json"
    plan_requests = [b for b in _Handler.seen if b.get("response_format")]
    schema = plan_requests[0]["response_format"]["json_schema"]["schema"]
    assert "diagnosis" in schema["properties"]
    assert plan_requests[0]["max_completion_tokens"] == 400
    assert plan_requests[0]["messages"][0]["role"] == "system"  # the static part first


def test_check_cli_recommends_a_mode(stub_server: str) -> None:
    env = os.environ | {"FACTORYPILOT_ALLOW_MODEL_REQUESTS": "true", "COLUMNS": "200"}
    out = subprocess.run([EXE, "llm", "check", "--base-url", stub_server,
                          "--mode", "json"], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "FACTORYPILOT_LLM_MODE=json" in out.stdout
    assert "130 tok/s" in out.stdout
    assert "1234" in out.stdout


def test_check_without_a_server_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    from factorypilot.agents.planners.local_server import free_port

    env = os.environ | {"FACTORYPILOT_ALLOW_MODEL_REQUESTS": "true"}
    url = f"http://127.0.0.1:{free_port()}/v1"
    out = subprocess.run([EXE, "llm", "check", "--base-url", url],
                         capture_output=True, text=True, env=env, timeout=60, check=False)
    assert out.returncode == 1
    assert "did not answer" in out.stderr
    assert "factorypilot llm serve" in out.stderr
    assert "Traceback" not in out.stderr


def test_serve_refuses_a_missing_or_non_gguf_model(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="model file not found"):
        LocalModelServer(tmp_path / "nope.gguf")
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"<html>not a model</html>")
    with pytest.raises(ConfigError, match="not a GGUF model file"):
        LocalModelServer(bad)
    out = subprocess.run([EXE, "llm", "serve", "--model", str(bad)],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 1
    assert "not a GGUF model file" in out.stderr
    assert "Traceback" not in out.stderr


def test_serve_help_names_the_extra_to_install() -> None:
    """The extra's brackets survive rich markup in --help (they used to vanish: "pip install "factorypilot"")."""
    env = os.environ | {"COLUMNS": "200"}
    out = subprocess.run([EXE, "llm", "serve", "--help"], capture_output=True, text=True, env=env, timeout=60,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert 'pip install "factorypilot[local-llm]"' in out.stdout
