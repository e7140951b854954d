"""The template catalog: which templates a firm (or a growth supporter) can pick from.

Sources, in order (the first template with an id wins):

1. folders of exported templates (default ``FACTORYPILOT_HOME/templates``, where ``template export`` writes);
2. an index file (YAML ``templates: [{path: ...}, ...]``, paths relative to the index) — a shared catalog on
   a file server;
3. Python packages: the entry-point group ``factorypilot.templates``; an entry point loads to a package or
   module (its directory holds ``template.yaml``), a path, or a callable returning a path;
4. with ``reference=True`` (the CLI's default catalog): the four reference pilots shipped with factorypilot, as
   templates marked ``reference``, with the gate verdict of their newest evaluation report under ``home`` — so
   matching works on a fresh install before anything was exported. An exported template of the same id wins.

Each entry is the template's manifest plus where it came from. ``search`` ranks entries for free text in
Korean or English (concepts from the plant lexicon plus plain words).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from factorypilot.errors import ConfigError
from factorypilot.pilots.evaluation.scenarios import load_scenario_file
from factorypilot.pilots.runtime import reference_pilots
from factorypilot.pilots.spec import load_spec
from factorypilot.pilots.spreading._lexicon import concepts
from factorypilot.pilots.spreading.templates import MANIFEST, GateRecord, TemplateManifest, gate_status

__all__ = ["ENTRY_POINT_GROUP", "Catalog", "CatalogEntry", "entry_text", "reference_entries"]

ENTRY_POINT_GROUP = "factorypilot.templates"
log = logging.getLogger("factorypilot.pilots.spreading.catalog")
_WORD = re.compile(r"[0-9a-z\uac00-\ud7a3]+")


@dataclass(frozen=True)
class CatalogEntry:
    manifest: TemplateManifest
    path: Path
    source: str
    reference: bool = False

    @property
    def id(self) -> str:
        return self.manifest.id

    def title(self, lang: str = "en") -> str:
        return _loc(self.manifest.title, lang)

    def description(self, lang: str = "en") -> str:
        return _loc(self.manifest.description, lang)


def _loc(text: str | dict[str, str], lang: str) -> str:
    if isinstance(text, str):
        return text
    return text.get(lang) or text.get("en") or next(iter(text.values()), "")


def entry_text(entry: CatalogEntry) -> str:
    """Everything searchable about a template, Korean and English."""
    m = entry.manifest
    parts: list[str] = [m.id, m.sector, *m.kpis, *m.keywords, *m.roles]
    for text in (m.title, m.description, *m.roles.values()):
        parts += [text] if isinstance(text, str) else list(text.values())
    return " ".join(parts)


def _words(text: str) -> set[str]:
    return set(_WORD.findall(unicodedata.normalize("NFKC", text).lower()))


def _read_manifest(path: Path, source: str) -> CatalogEntry | None:
    mpath = path / MANIFEST
    try:
        data = yaml.safe_load(mpath.read_text(encoding="utf-8"))
        return CatalogEntry(TemplateManifest.model_validate(data), path, source)
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError) as exc:
        log.warning("skipping template %s: %s", path, exc)
        return None


def _ep_path(obj: Any) -> Path | None:
    if isinstance(obj, ModuleType):
        return Path(obj.__file__).parent if obj.__file__ else None
    if callable(obj):
        obj = obj()
    return Path(str(obj)) if isinstance(obj, str | Path) else None


def reference_entries(home: Path | None) -> list[CatalogEntry]:
    """The reference pilots as catalog entries (not exported; gate verdict from ``home/reports`` if any)."""
    out: list[CatalogEntry] = []
    for name, path in reference_pilots().items():
        try:
            spec = load_spec(path)
            scenarios = load_scenario_file(path.parent / spec.scenarios) if isinstance(spec.scenarios, str) \
                else list(spec.scenarios)
        except (ConfigError, ValueError) as exc:
            log.warning("skipping reference pilot %s: %s", name, exc)
            continue
        gate = GateRecord(passed=False)
        if home is not None:
            status = gate_status(spec.id, home, scenarios=[s.id for s in scenarios])
            gate = GateRecord(passed=status.passed, report=status.report.name if status.report else None,
                              metrics=status.metrics)
        manifest = TemplateManifest.of(spec, scenarios, created="reference", gate=gate)
        out.append(CatalogEntry(manifest, path.parent, f"reference pilot {name}", reference=True))
    return out


Ranked = list[tuple[CatalogEntry, float]]


class Catalog:
    """Templates from folders, an index file and installed packages (see module docstring)."""

    def __init__(self, entries: Iterable[CatalogEntry]) -> None:
        self._entries: dict[str, CatalogEntry] = {}
        for e in entries:
            self._entries.setdefault(e.id, e)

    @classmethod
    def discover(cls, *, folders: Sequence[Path] = (), index: Path | None = None,
                 use_entry_points: bool = True, reference: bool = False, home: Path | None = None) -> Catalog:
        found: list[CatalogEntry] = []
        for folder in folders:
            folder = Path(folder)
            if not folder.is_dir():
                continue
            candidates = [folder] if (folder / MANIFEST).is_file() else sorted(p for p in folder.iterdir()
                                                                                if p.is_dir())
            found += [e for p in candidates if (e := _read_manifest(p, f"folder {folder}"))]
        if index is not None:
            found += cls._from_index(Path(index))
        if use_entry_points:
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                try:
                    path = _ep_path(ep.load())
                except ImportError as exc:
                    log.warning("template entry point %r cannot be imported: %s", ep.name, exc)
                    continue
                if path is not None and (e := _read_manifest(path, f"package {ep.value}")):
                    found.append(e)
        if reference:
            found += reference_entries(home)
        return cls(found)

    @staticmethod
    def _from_index(index: Path) -> list[CatalogEntry]:
        try:
            data = yaml.safe_load(index.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"catalog index not found: {index}", hint="give the path of an index.yaml") from None
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read catalog index: {exc}", where=str(index)) from exc
        items = data.get("templates") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ConfigError("a catalog index is a mapping with a 'templates' list", where=str(index),
                              hint="templates: [{path: mobility-cnc-0.1.0}]")
        out: list[CatalogEntry] = []
        for i, item in enumerate(items):
            rel = item.get("path") if isinstance(item, dict) else item
            if not isinstance(rel, str):
                raise ConfigError(f"entry {i} has no 'path'", where=str(index))
            entry = _read_manifest((index.parent / rel).resolve(), f"index {index.name}")
            if entry is None:
                raise ConfigError(f"entry {i}: no template at {rel}", where=str(index),
                                  hint=f"a template directory holds {MANIFEST}")
            out.append(entry)
        return out

    def list(self) -> list[CatalogEntry]:
        return sorted(self._entries.values(), key=lambda e: (e.manifest.sector, e.id))

    def get(self, name: str) -> CatalogEntry:
        """An entry by template id (``mobility-cnc``) or ``id-version``."""
        for e in self._entries.values():
            if name in (e.id, f"{e.id}-{e.manifest.version}"):
                return e
        raise ConfigError(f"no template {name!r} in the catalog",
                          hint=f"known: {', '.join(self._entries) or 'none'} (factorypilot catalog list)")

    def search(self, query: str, *, limit: int = 10) -> Ranked:
        """Entries ranked for a free-text query (Korean or English); only entries that match at all."""
        q_concepts, q_words = concepts(query), _words(query)
        ranked: Ranked = []
        for e in self._entries.values():
            text = entry_text(e)
            c, w = concepts(text), _words(text)
            score = 2.0 * len(q_concepts & c) + len(q_words & w)
            score += sum(0.5 for word in q_words if len(word) >= 2 and word not in w and word in text.lower())
            if score > 0:
                ranked.append((e, score))
        ranked.sort(key=lambda p: (-p[1], p[0].id))
        return ranked[:limit]
