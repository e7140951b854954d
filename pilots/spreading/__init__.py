"""The spreading room: a lead firm's pilot becomes a template small firms deploy.

``templates`` (export, init, map, run a project), ``mapping`` (template roles → a firm's browsed tags; signals in
``_score``, ``_lexicon``, ``_units``, ``_equipment``), ``catalog`` (installed templates), ``matching`` (firm profile →
templates; ``_profile``, ``_rank``, ``_text``, ``_explain``), ``programme`` (KPIs across firms), ``fit`` (what a
template solves and needs). A new mapping signal goes in ``_score``. See ``docs/templates.md`` and
``docs/matching.md``."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .catalog import Catalog, CatalogEntry
    from .fit import FitStatement
    from .mapping import MappingProposal, RoleMapping, propose_mapping
    from .matching import FirmProfile, Ranking, load_profile, match_templates
    from .programme import ProgrammeReport, record_kpis
    from .templates import (
        GateRecord,
        Project,
        TemplateManifest,
        export_template,
        gate_status,
        init_from_template,
        load_template,
        map_project,
        readonly_check,
        run_project,
    )

__all__ = [
    "Catalog",
    "CatalogEntry",
    "FirmProfile",
    "FitStatement",
    "GateRecord",
    "MappingProposal",
    "ProgrammeReport",
    "Project",
    "Ranking",
    "RoleMapping",
    "TemplateManifest",
    "export_template",
    "gate_status",
    "init_from_template",
    "load_profile",
    "load_template",
    "map_project",
    "match_templates",
    "propose_mapping",
    "readonly_check",
    "record_kpis",
    "run_project",
]

_WHERE = {
    "GateRecord": "templates",
    "Project": "templates",
    "TemplateManifest": "templates",
    "export_template": "templates",
    "gate_status": "templates",
    "init_from_template": "templates",
    "load_template": "templates",
    "map_project": "templates",
    "readonly_check": "templates",
    "run_project": "templates",
    "MappingProposal": "mapping",
    "RoleMapping": "mapping",
    "propose_mapping": "mapping",
    "Catalog": "catalog",
    "CatalogEntry": "catalog",
    "FirmProfile": "matching",
    "Ranking": "matching",
    "load_profile": "matching",
    "match_templates": "matching",
    "ProgrammeReport": "programme",
    "record_kpis": "programme",
    "FitStatement": "fit",
}


def __getattr__(name: str) -> Any:
    """Public names load on first use: the room's modules import each other and the pilot spec, so eager
    imports here would be circular (and slow down ``factorypilot --help``)."""
    if name in _WHERE:
        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
