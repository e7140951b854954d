"""Reference pilot: mobility (CNC machining + press line).

One self-contained package: ``pilot.yaml``, ``playbooks.yaml``, ``scenarios.yaml``, ``knowledge/``, the plant model
for the testbed (``plant.py``) and a second plant of the same line as a small firm names it (``plant_kr.py``,
``mobility-kr``). It registers itself like any third-party pilot: the entry point ``mobility =
"factorypilot.pilots.mobility:PILOT"`` in the ``factorypilot.pilots`` group."""

from __future__ import annotations

from typing import TYPE_CHECKING

from factorypilot.pilots.sectors import SectorPilot, package_file

if TYPE_CHECKING:
    from factorypilot.pilots.simulator import PlantModel

__all__ = ["KR_PLANT", "PILOT"]


def _plant() -> type[PlantModel]:
    from .plant import MobilityModel

    return MobilityModel


def _plant_kr() -> type[PlantModel]:
    from .plant_kr import MobilityKrModel

    return MobilityKrModel


PILOT = SectorPilot("mobility", spec=package_file(__name__, "pilot.yaml"), plant=_plant,
                    title="모빌리티 부품 가공·프레스 라인")

KR_PLANT = SectorPilot("mobility-kr", spec=None, plant=_plant_kr, title="성서정밀 머시닝라인 (소기업, 한국식 태그)")
"""The second mobility plant (Korean PLC-style names): a plant-only entry, no pilot spec (template mapping tests)."""
