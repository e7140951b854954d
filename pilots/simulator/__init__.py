"""The testbed: the plant simulator core (server, address space, faults, alarms, shards, security, MES export).

It holds no sector physics: each sector pilot package ships its plant model (``factorypilot.pilots.<sector>.plant``)
and registers it through the ``factorypilot.pilots`` entry-point group; the testbed finds models by name there.

Quick start::

    async with PlantSimulator("mobility", seed=7, realtime=False) as sim:
        await sim.step(10)
        vibration = sim.value("spindle_vibration")   # served at sim.endpoint as sim.node_id("spindle_vibration")

See ``docs/simulator.md`` for models, node ids, faults and how to add a sector model.
"""

from ._faults import Fault, FaultKind
from ._model import Asset, Hierarchy, MethodArg, MethodSpec, PlantModel, Signal
from ._registry import ENTRY_POINT_GROUP, available_models
from ._security import CertificatePaths, generate_certificates
from ._server import PlantSimulator
from ._shards import ShardedPlant
from ._thread import PlantHandle, running_plant

__all__ = [
    "ENTRY_POINT_GROUP",
    "Asset",
    "CertificatePaths",
    "Fault",
    "FaultKind",
    "Hierarchy",
    "MethodArg",
    "MethodSpec",
    "PlantHandle",
    "PlantModel",
    "PlantSimulator",
    "ShardedPlant",
    "Signal",
    "available_models",
    "generate_certificates",
    "running_plant",
]
