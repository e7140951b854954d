"""Reference pilot: ABB (AI·Big data·Blockchain) — quality analytics and lot traceability.

One self-contained package: ``pilot.yaml``, ``playbooks.yaml``, ``scenarios.yaml``, ``knowledge/``, the plant model
for the testbed (``plant.py``) and lot traceability (``trace.py``, command ``factorypilot trace`` from ``cli.py``).
It registers itself like any third-party pilot: the entry point ``abb = "factorypilot.pilots.abb:PILOT"`` in the
``factorypilot.pilots`` group."""

from __future__ import annotations

from typing import TYPE_CHECKING

from factorypilot.pilots.sectors import SectorPilot, package_file

if TYPE_CHECKING:
    from factorypilot.pilots.simulator import PlantModel

__all__ = ["PILOT"]


def _plant() -> type[PlantModel]:
    from .plant import AbbModel

    return AbbModel


PILOT = SectorPilot("abb", spec=package_file(__name__, "pilot.yaml"), plant=_plant,
                    title="ABB 추적성 조립 라인",
                    commands={"trace": "factorypilot.pilots.abb.cli:trace_command"})
