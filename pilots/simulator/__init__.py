"""The plant simulator ("testbed"): sector models served by a real asyncua OPC UA server.

Quick start::

    async with PlantSimulator("mobility", seed=7, realtime=False) as sim:
        await sim.step(10)
        vibration = sim.value("spindle_vibration")   # served at sim.endpoint as sim.node_id("spindle_vibration")

See ``docs/simulator.md`` for models, node ids, faults and how to add a sector model.
"""

from ._faults import Fault, FaultKind
from ._mobility import MobilityModel
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
    "MobilityModel",
    "PlantHandle",
    "PlantModel",
    "PlantSimulator",
    "ShardedPlant",
    "Signal",
    "available_models",
    "generate_certificates",
    "running_plant",
]
