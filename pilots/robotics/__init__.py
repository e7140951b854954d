"""Reference pilot: robotics (robot welding cell fault diagnosis and recovery).

One self-contained package: ``pilot.yaml``, ``playbooks.yaml``, ``scenarios.yaml``, ``knowledge/``, the plant model
for the testbed (``plant.py``). It registers itself like any third-party pilot: the entry point
``robotics = "factorypilot.pilots.robotics:PILOT"`` in the ``factorypilot.pilots`` group.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from factorypilot.pilots.sectors import SectorPilot, package_file

if TYPE_CHECKING:
    from factorypilot.pilots.simulator import PlantModel

__all__ = ["PILOT"]


def _plant() -> type[PlantModel]:
    from .plant import RoboticsModel

    return RoboticsModel


PILOT = SectorPilot("robotics", spec=package_file(__name__, "pilot.yaml"), plant=_plant,
                    title="로봇 용접 셀")
