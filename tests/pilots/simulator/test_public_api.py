"""The simulator's public names are pinned: changing them is an API change others build on."""

from __future__ import annotations

import factorypilot.pilots.simulator as simulator

EXPECTED = {
    "ENTRY_POINT_GROUP", "Asset", "CertificatePaths", "Fault", "FaultKind", "Hierarchy", "MethodArg", "MethodSpec",
    "PlantHandle", "PlantModel", "PlantSimulator", "ShardedPlant", "Signal", "available_models",
    "generate_certificates", "running_plant",
}


def test_public_names_are_pinned() -> None:
    assert set(simulator.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(simulator, name) is not None


def test_entry_point_group_name() -> None:
    assert simulator.ENTRY_POINT_GROUP == "factorypilot.pilots"
