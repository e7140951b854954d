"""Reference pilot: healthcare (medical-device cleanroom and batch records).

One self-contained package: ``pilot.yaml``, ``playbooks.yaml``, ``scenarios.yaml``, ``knowledge/``, the plant model
for the testbed (``plant.py``) and the GMP deviation report (``gmp.py``). It registers itself like any third-party
pilot: the entry point ``healthcare = "factorypilot.pilots.healthcare:PILOT"`` in the ``factorypilot.pilots`` group."""

from __future__ import annotations

from typing import TYPE_CHECKING

from factorypilot.pilots.sectors import SectorPilot, package_file

if TYPE_CHECKING:
    from factorypilot.pilots.simulator import PlantModel

__all__ = ["PILOT"]


def _plant() -> type[PlantModel]:
    from .plant import HealthcareModel

    return HealthcareModel


PILOT = SectorPilot("healthcare", spec=package_file(__name__, "pilot.yaml"), plant=_plant,
                    title="의료기기 클린룸·포장 라인")
