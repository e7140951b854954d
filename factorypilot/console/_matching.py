"""Matching results for the Programme page: which template each firm should start with, from its goals.

Two sources, both the ``factorypilot match`` path: ``--profiles DIR`` (the firm profiles; ranked once in a
background thread when the console starts — the offline embedding model takes a while to load — and the page
says "computing" until then), or ``--matching FILE`` (the JSON ``factorypilot match DIR --format json`` wrote).
A firm's user sees the row whose profile id is their company id; programme staff see every firm.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from factorypilot.errors import FactoryPilotError

__all__ = ["MatchingResults"]

log = logging.getLogger("factorypilot.console")


class MatchingResults:
    """The ranked templates per firm and language (``ko``/``en``), or why there are none."""

    def __init__(self, home: Path, profiles: Path | None = None, matching: Path | None = None) -> None:
        self.home, self.profiles, self.matching = home, profiles, matching
        self.state = "none" if profiles is None and matching is None else "computing"
        self.error: str | None = None
        self.by_lang: dict[str, dict[str, Any]] = {}
        self.ready = threading.Event()
        if matching is not None:
            self._load(matching)
        elif profiles is None:
            self.ready.set()

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("firms"), list):
                raise ValueError("not the JSON of factorypilot match --format json (no 'firms' list)")
        except (OSError, ValueError) as exc:
            self._fail(f"{path}: {exc}")
            return
        self.by_lang = {"*": data}
        self.state = "ready"
        self.ready.set()

    def start(self) -> None:
        """Rank the ``--profiles`` folder in a background thread (no-op for the other sources)."""
        if self.profiles is not None and self.state == "computing":
            threading.Thread(target=self._compute, name="console-matching", daemon=True).start()

    def _compute(self) -> None:
        from factorypilot.pilots.spreading._folder_report import match_folder, to_json
        from factorypilot.pilots.spreading.catalog import Catalog

        assert self.profiles is not None
        try:
            if not self.profiles.is_dir():
                raise FileNotFoundError(f"no profile folder at {self.profiles}")
            catalog = Catalog.discover(folders=[self.home / "templates"], reference=True, home=self.home)
            pm = match_folder(self.profiles, catalog)
            self.by_lang = {lang: to_json(pm, lang, top=3) for lang in ("ko", "en")}
            self.state = "ready"
        except (FactoryPilotError, OSError) as exc:
            self._fail(str(exc))
        except Exception as exc:  # a failure in the background must reach the page, never die silently
            log.error("console: matching failed: %s", exc, exc_info=log.isEnabledFor(logging.DEBUG))
            self._fail(f"{type(exc).__name__}: {exc}")
        finally:
            self.ready.set()

    def _fail(self, error: str) -> None:
        self.state, self.error = "failed", error
        self.ready.set()

    def firms(self, lang: str, company: str | None) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        """(firms, failures) in ``lang`` for one company id (``None`` = every firm)."""
        data = self.by_lang.get(lang) or self.by_lang.get("*") or {}
        firms = [f for f in data.get("firms", []) if company is None or f.get("firm") == company]
        failures = list(data.get("failures", [])) if company is None else []
        return firms, failures
