"""The rooms of ``factorypilot.pilots``: each room pins its public names, and every sector pilot is one package
registered through the ``factorypilot.pilots`` entry-point group — the reference pilots included."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pytest

import factorypilot.pilots.evaluation as evaluation
import factorypilot.pilots.spreading as spreading
from factorypilot.pilots.runtime import reference_pilots
from factorypilot.pilots.sectors import ENTRY_POINT_GROUP, SectorPilot, sector_pilots
from factorypilot.pilots.simulator import PlantModel, available_models

EVALUATION = {
    "APPROVER", "Aggregate", "AlarmStats", "BadActor", "EvalReport", "Expectation", "ExpectedAction", "FaultSpec",
    "GateSpec", "KpiSpec", "ReplaySpec", "Scenario", "ScenarioScore", "aevaluate", "evaluate", "load_scenario_file",
    "load_scenarios", "make_planner",
}
SPREADING = {
    "Catalog", "CatalogEntry", "FirmProfile", "FitStatement", "GateRecord", "MappingProposal", "ProgrammeReport",
    "Project", "Ranking", "RoleMapping", "TemplateManifest", "export_template", "gate_status", "init_from_template",
    "load_profile", "load_template", "map_project", "match_templates", "propose_mapping", "readonly_check",
    "record_kpis", "run_project",
}
REFERENCE = {"abb", "healthcare", "mobility", "robotics"}


@pytest.mark.parametrize(("room", "names"), [(evaluation, EVALUATION), (spreading, SPREADING)])
def test_each_room_pins_its_public_names(room: object, names: set[str]) -> None:
    assert set(room.__all__) == names  # type: ignore[attr-defined]
    for name in names:
        obj = getattr(room, name)
        assert obj is not None
        assert not isinstance(obj, type(evaluation)), f"{name} resolves to a module, not the public object"
    with pytest.raises(AttributeError):
        _ = room.not_a_public_name  # type: ignore[attr-defined]


def test_reference_pilots_register_through_the_entry_point_group() -> None:
    declared = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert {name: declared[name] for name in REFERENCE} == {n: f"factorypilot.pilots.{n}:PILOT" for n in REFERENCE}
    assert declared["mobility-kr"] == "factorypilot.pilots.mobility:KR_PLANT"
    pilots = sector_pilots()
    assert all(isinstance(p, SectorPilot) for p in pilots.values())
    assert set(reference_pilots()) >= REFERENCE
    assert pilots["mobility-kr"].spec is None  # a plant only: no pilot of its own
    assert pilots["abb"].commands == {"trace": "factorypilot.pilots.abb.cli:trace_command"}


@pytest.mark.parametrize("sector", sorted(REFERENCE))
def test_a_sector_pilot_is_one_self_contained_package(sector: str) -> None:
    pilot = sector_pilots()[sector]
    assert pilot.spec is not None
    folder = pilot.spec.parent
    assert folder == Path(reference_pilots()[sector]).parent
    for name in ("pilot.yaml", "playbooks.yaml", "scenarios.yaml", "plant.py", "__init__.py"):
        assert (folder / name).is_file(), f"{sector}: {name} missing"
    assert any((folder / "knowledge").glob("*.md"))
    model = pilot.plant_model()
    assert model is not None
    assert issubclass(model, PlantModel)
    assert model.__module__ == f"factorypilot.pilots.{sector}.plant"
    assert available_models()[model.name] is model
