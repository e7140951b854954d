"""Sector pilots found by entry point: one package per sector, registered in the ``factorypilot.pilots`` group.

A sector pilot is one Python package (``pilots/<sector>/`` in this repository, or a third party's own
distribution) that declares a :class:`SectorPilot` and names it in its ``pyproject.toml``::

    [project.entry-points."factorypilot.pilots"]
    moulding = "moulding_pilot:PILOT"

The four reference pilots (and the ``mobility-kr`` test plant) register exactly this way. The framework finds them
here; it never imports a sector package by name (an import contract enforces that).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from importlib.metadata import entry_points
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from factorypilot.pilots.simulator import PlantModel

__all__ = ["ENTRY_POINT_GROUP", "SectorPilot", "package_file", "sector_pilots"]

ENTRY_POINT_GROUP = "factorypilot.pilots"
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SectorPilot:
    """What a sector package declares.

    - ``name``: the pilot's name on the command line (``factorypilot eval NAME``), unique in the group.
    - ``spec``: its ``pilot.yaml``, or ``None`` for a plant-only entry (a test plant with no pilot).
    - ``plant``: a factory returning its plant model class for the testbed (imported only when called, so
      listing pilots stays cheap), or ``None`` when the pilot runs against real plants only.
    - ``commands``: optional ``"module:attribute"`` of extra CLI commands — a callable the CLI registers as
      ``factorypilot <command>`` under ``command_name`` (e.g. ABB's ``trace``).
    - ``report_sections``: optional ``"module:attribute"`` callables that add sections to reports (reserved).
    """

    name: str
    spec: Path | None = None
    plant: Callable[[], type[PlantModel]] | None = None
    title: str = ""
    commands: dict[str, str] = field(default_factory=dict)
    report_sections: tuple[str, ...] = ()

    def plant_model(self) -> type[PlantModel] | None:
        return self.plant() if self.plant is not None else None


def package_file(package: str, name: str) -> Path:
    """A file shipped inside ``package`` (e.g. its ``pilot.yaml``), as a path on disk."""
    return Path(str(files(package) / name))


def load_object(ref: str) -> Any:
    """``"package.module:attribute"`` → the attribute."""
    module, _, attr = ref.partition(":")
    obj: Any = import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


def sector_pilots() -> dict[str, SectorPilot]:
    """Every installed sector pilot by name. A broken plugin is logged and skipped, never hides the others."""
    found: dict[str, SectorPilot] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in found:
            continue
        try:
            obj = ep.load()
        except Exception as exc:  # a third party's import error must not break every command
            _log.warning("sector pilot %r cannot be imported: %s", ep.name, exc)
            continue
        if not isinstance(obj, SectorPilot):
            _log.warning("entry point %r in %s is not a SectorPilot", ep.name, ENTRY_POINT_GROUP)
            continue
        if obj.name != ep.name:
            _log.warning("entry point %r in %s declares the name %r; using %r", ep.name, ENTRY_POINT_GROUP,
                         obj.name, ep.name)
        found[ep.name] = obj
    return dict(sorted(found.items()))
