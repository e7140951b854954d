"""Suite-wide fixtures: an isolated FACTORYPILOT_HOME per test and real model requests forbidden."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from factorypilot.settings import get_settings

os.environ["FACTORYPILOT_ALLOW_MODEL_REQUESTS"] = "false"


@pytest.fixture(autouse=True)
def fp_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "fp-home"
    monkeypatch.setenv("FACTORYPILOT_HOME", str(home))
    monkeypatch.setenv("FACTORYPILOT_ALLOW_MODEL_REQUESTS", "false")
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()
