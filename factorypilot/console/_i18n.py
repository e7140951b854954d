"""The console's message catalogue (``messages.yaml``): Korean by default, English on request."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from typing import Any

import yaml

__all__ = ["LANGS", "catalogue", "translate"]

LANGS = ("ko", "en")


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    text = (files("factorypilot.console") / "messages.yaml").read_text(encoding="utf-8")
    data: dict[str, dict[str, str]] = yaml.safe_load(text)
    return data


def translate(key: str, lang: str, **values: Any) -> str:
    """The message ``key`` in ``lang`` with ``{placeholders}`` filled; an unknown key shows as itself."""
    entry = catalogue().get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry.get("en") or key
    return text.format(**values) if values else text
