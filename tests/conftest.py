"""Suite-wide fixtures: an isolated FACTORYPILOT_HOME per test and real model requests forbidden.

Hypothesis runs derandomized (the same examples every run, so CI is deterministic); explore with fresh random
examples locally with ``HYPOTHESIS_PROFILE=explore pytest``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from hypothesis import settings

from factorypilot.settings import get_settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

os.environ["FACTORYPILOT_ALLOW_MODEL_REQUESTS"] = "false"


@pytest.fixture(autouse=True)
def fp_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "fp-home"
    monkeypatch.setenv("FACTORYPILOT_HOME", str(home))
    monkeypatch.setenv("FACTORYPILOT_ALLOW_MODEL_REQUESTS", "false")
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def run_example() -> Callable[..., str]:
    """Run ``examples/<name>`` as a user would (a new interpreter, UTF-8), assert it exits 0, return its stdout.

    ``env`` replaces the environment (default: this process's, with the test's FACTORYPILOT_HOME)."""

    def run(name: str, *args: str | Path, env: Mapping[str, str] | None = None, timeout: float = 300) -> str:
        result = subprocess.run([sys.executable, str(EXAMPLES / name), *map(str, args)], capture_output=True,
                                text=True, encoding="utf-8", timeout=timeout, check=False,
                                env=dict(os.environ if env is None else env))
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    return run
