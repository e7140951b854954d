"""``template map`` on three foreign plants the templates were not written against (answer keys committed
before the mapper was tuned). Plant A runs on node-opcua (another OPC UA stack, a ``node`` subprocess),
plants B and C on asyncua; C is the held-out plant. Plant D runs on node-opcua with the real OPC 40010
Robotics / OPC 40001 Machinery nodesets. The headline: no wrong ``high`` on any plant."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from factorypilot.connectors.registry import create
from factorypilot.errors import ConfigError
from factorypilot.pilots.runtime import resolve_spec
from factorypilot.pilots.spreading._accuracy import load_key, score_proposal
from factorypilot.pilots.spreading._plants import node_modules, serving_node_plant, serving_plant
from factorypilot.pilots.spreading.mapping import PlantFacts, propose_mapping, sample_plant
from factorypilot.vocabulary import Scalar, Tag

PLANTS = Path(__file__).parent / "plants"
Browsed = tuple[list[Tag], dict[str, list[Scalar]], PlantFacts, dict[str, Any]]
NODE_MISSING = shutil.which("node") is None or node_modules() is None


def _browse(name: str) -> Browsed:
    key = load_key(PLANTS / f"{name}.answers.yaml")
    if key["stack"] == "node-opcua":
        cm = serving_node_plant(PLANTS / f"{name}.json", PLANTS / "nodeopcua_plant.js")
    else:
        cm = serving_plant(PLANTS / f"{name}.json")

    async def go(endpoint: str) -> tuple[list[Tag], dict[str, list[Scalar]], PlantFacts]:
        async with create("opcua", {"endpoint": endpoint}) as conn:
            tags, values = await sample_plant(conn, reads=3, interval_s=0.15)
            return tags, values, PlantFacts.of(conn)

    with cm as plant:
        tags, values, facts = asyncio.run(go(plant.endpoint))
    return tags, values, facts, key


@pytest.fixture(scope="module")
def plant_a() -> Iterator[Browsed]:
    if NODE_MISSING:
        pytest.skip("node or node-opcua is not installed: bash .ci/run installs node-opcua into ~/.cache/factorypilot")
    return _browse("plant_a_daesung")


@pytest.fixture(scope="module")
def plant_d() -> Iterator[Browsed]:
    if NODE_MISSING:
        pytest.skip("node or node-opcua is not installed: bash .ci/run installs node-opcua into ~/.cache/factorypilot")
    return _browse("plant_d_hanbit")


@pytest.fixture(scope="module")
def plant_b() -> Browsed:
    return _browse("plant_b_medical")


@pytest.fixture(scope="module")
def plant_c() -> Browsed:
    return _browse("plant_c_seongjin")


@pytest.fixture(scope="module")
def plant_e() -> Browsed:
    return _browse("plant_e_sewon")


@pytest.fixture(scope="module")
def plant_f() -> Browsed:
    return _browse("plant_f_hwaseong")


def _all_templates(plant: Browsed) -> dict[str, dict[str, Any]]:
    """Every template on the plant: without naming the machine and with the key's machine (the firm's answer
    to 'which machine?')."""
    tags, values, facts, key = plant
    out = {}
    for tpl, tk in key["templates"].items():
        spec = resolve_spec(tpl)[0]
        for eq in dict.fromkeys((None, tk["equipment"])):
            prop = propose_mapping(spec, tags, values, equipment=eq, facts=facts)
            out[f"{tpl}@{eq or '-'}"] = {"proposal": prop, "score": score_proposal(prop, tk["roles"])}
    return out


@pytest.mark.parametrize("fixture", ["plant_a", "plant_b", "plant_c", "plant_d", "plant_e", "plant_f"])
def test_no_wrong_high_on_any_foreign_plant(fixture: str, request: pytest.FixtureRequest) -> None:
    results = _all_templates(request.getfixturevalue(fixture))
    wrong = {k: [r for r, o in v["score"]["roles"].items() if o == "wrong-high"] for k, v in results.items()}
    assert all(not w for w in wrong.values()), wrong
    # and the mapper does real work: most roles that exist are taken without a question on the right machine
    right = sum(v["score"]["right"] for k, v in results.items() if not k.endswith("@-"))
    assert right >= 5


def test_robot_template_binds_within_one_robot(plant_a: Browsed) -> None:
    """The issue's failure: the robotics template took the CNC's alarm code and state with high confidence."""
    tags, values, facts, _ = plant_a
    spec = resolve_spec("robotics")[0]
    first = propose_mapping(spec, tags, values, facts=facts)
    assert first.ambiguous  # two robots: the firm is asked which one
    assert {first.equipment.rsplit("/", 1)[-1], *(a.rsplit("/", 1)[-1] for a in first.alternatives)} == {"RB01", "RB02"}
    assert all(rm.confidence != "high" for rm in first.roles.values())
    prop = propose_mapping(spec, tags, values, equipment="RB01", facts=facts)
    by = prop.roles
    assert by["fault_code"].tag_id == "ns=2;i=1003"
    assert by["fault_code"].equipment == "RB01"
    assert by["fault_code"].confidence == "high"
    assert by["robot_state"].tag_id is None  # the robot has no state tag; the CNC's MC_STS is not proposed
    assert all(rm.equipment in ("", "RB01") for r, rm in by.items() if rm.level == "equipment")
    # N·m for a role in %: proposed at most low, with the reason
    assert by["joint2_torque"].tag_id == "ns=2;i=1021"
    assert by["joint2_torque"].confidence == "low"
    assert any("not convertible" in c for c in by["joint2_torque"].conflicts)
    # J2, not J3; the commanded override, not the actual one
    assert by["joint2_temperature"].tag_id == "ns=2;i=1022"
    assert by["speed_override"].tag_id == "ns=2;i=1004"
    # methods are listed and matched on the robot
    assert by["move_home"].tag_id == "ns=2;i=1091"
    assert by["move_home"].kind == "method"
    assert by["reset_fault"].tag_id == "ns=2;i=1090"
    # the override setter with its one argument (Percent: Double, "override in %") matches the role's argument
    assert by["set_speed_override"].tag_id == "ns=2;i=1092"
    assert by["set_speed_override"].confidence == "high"
    assert any("argument Percent" in r for r in by["set_speed_override"].reasons)
    # the same template on the second robot
    second = propose_mapping(spec, tags, values, equipment="RB02", facts=facts)
    assert second.roles["fault_code"].tag_id == "ns=2;g=5b0a1f3e-7c1d-4d2a-9e61-0c2b7f1a1003"
    assert second.roles["set_speed_override"].tag_id is None  # RB02 has no setter: absent?, never RB01's
    with pytest.raises(ConfigError, match="no machine matching"):
        propose_mapping(spec, tags, values, equipment="RB09", facts=facts)


def test_cleanroom_template_on_a_machining_line_is_never_confident(plant_a: Browsed) -> None:
    tags, values, facts, _ = plant_a
    prop = propose_mapping(resolve_spec("healthcare")[0], tags, values, facts=facts)
    assert all(rm.confidence != "high" for rm in prop.roles.values())
    assert prop.roles["particles_0_5um"].tag_id is None  # no counter is proposed for particle counts
    assert prop.roles["hvac_fan_setpoint"].tag_id is None


def test_units_codes_and_conversion(plant_b: Browsed) -> None:
    tags, values, facts, _ = plant_b
    prop = propose_mapping(resolve_spec("healthcare")[0], tags, values, facts=facts)
    rm = prop.roles["differential_pressure"]
    assert rm.tag_id == "ns=2;s=MTK.PKG.CR1.DP"
    assert rm.confidence == "high"
    assert any("unit Pa" in r for r in rm.reasons)
    assert prop.roles["particles_5um"].tag_id == "ns=2;s=MTK.PKG.CR1.PC50"  # 5 µm, not 0.5 µm


def test_answers_text_marks_guesses(plant_a: Browsed) -> None:
    tags, values, facts, _ = plant_a
    prop = propose_mapping(resolve_spec("robotics")[0], tags, values, equipment="RB01", facts=facts)
    text = prop.answers_text()
    assert "joint2_torque: ?ns=2;i=1021  # low" in text
    assert "robot_state: null  # none" in text
    assert "fault_code: ns=2;i=1003  # high" in text
    # the fence door: only the CNC's door switch on the same line — a guess, never taken unasked
    assert "cell_door_open: ?ns=2;s=DSA.L1.CNC01.DR_SW  # medium" in text
    assert "robot_state: null  # none: no plausible tag — absent? disables: KPIs" in text


def test_mapping_is_stable_while_a_fault_is_active(plant_b: Browsed) -> None:
    """The same proposal, at the same confidence, whether plant B is calm or a fault is active while mapping."""
    calm_tags, calm_values, calm_facts, _ = plant_b

    async def go(endpoint: str) -> tuple[list[Tag], dict[str, list[Scalar]], PlantFacts]:
        async with create("opcua", {"endpoint": endpoint}) as conn:
            tags, values = await sample_plant(conn, reads=3, interval_s=0.15)
            return tags, values, PlantFacts.of(conn)

    with serving_plant(PLANTS / "plant_b_medical.json") as plant:
        plant.set("s=MTK.PKG.SEAL01.JAW_TMP", 163.0)   # sealer overheating
        plant.set("s=MTK.PKG.CR1.DP", 2.0)             # room lost its pressure
        plant.set("s=MTK.PKG.PNP01.ERR", 1203)         # robot stopped on a fault
        plant.set("s=MTK.PKG.PNP01.ALM", True)
        tags, values, facts = asyncio.run(go(plant.endpoint))
    assert values["ns=2;s=MTK.PKG.SEAL01.JAW_TMP"][-1] == 163.0
    for tpl in ("healthcare", "robotics"):
        spec = resolve_spec(tpl)[0]
        calm = propose_mapping(spec, calm_tags, calm_values, facts=calm_facts)
        fault = propose_mapping(spec, tags, values, facts=facts)
        assert {r: (m.tag_id, m.confidence) for r, m in fault.roles.items()} == \
               {r: (m.tag_id, m.confidence) for r, m in calm.roles.items()}
    assert fault.roles["fault_code"].confidence == "high"


def test_method_arguments_are_evidence(plant_a: Browsed) -> None:
    """InputArguments (count, data type, the unit a name/description states) count for and against a method:
    a fault reset that passes nothing never lands on the override setter, and a setter role that passes a
    percentage finds SetOvr(Percent: 'override in %') — but not when the role passes rpm."""
    from factorypilot.pilots.spec import ArgumentSpec, RoleSpec

    tags, values, facts, _ = plant_a
    set_ovr = next(m for m in facts.methods if m.name == "SetOvr")
    assert set_ovr.inputs == (("Percent", "float", "override in %"),)  # browsed from node-opcua
    spec = resolve_spec("robotics")[0]

    def with_setter(unit: str) -> Any:
        setter = RoleSpec(kind="method", description={"en": "Set the speed override", "ko": "오버라이드 설정"},
                          required=False, aliases=["SetOverride"],
                          arguments=[ArgumentSpec(name="override", data_type="float", unit=unit)])
        return spec.model_copy(update={"roles": {**spec.roles, "set_speed_override": setter}})

    prop = propose_mapping(with_setter("%"), tags, values, equipment="RB01", facts=facts)
    setter = prop.roles["set_speed_override"]
    assert setter.tag_id == set_ovr.id
    assert not setter.conflicts
    assert any("argument Percent: unit % " in r for r in setter.reasons), setter.reasons
    reset = prop.roles["reset_fault"]
    assert reset.tag_id == "ns=2;i=1090"
    assert any("takes no arguments" in r for r in reset.reasons)
    on_setter = [c for c in reset.candidates if c.tag_id == set_ovr.id]
    assert all(any("takes 1 argument(s) (Percent), the role passes 0" in r for r in c.reasons) for c in on_setter)
    wrong_unit = propose_mapping(with_setter("rpm"), tags, values, equipment="RB01", facts=facts)
    rm = wrong_unit.roles["set_speed_override"]
    assert (rm.tag_id, rm.confidence) == (set_ovr.id, "low")
    assert any("argument Percent: unit % is ratio" in c for c in rm.conflicts), rm.conflicts


def test_robot_template_on_an_opc_40010_motion_device_system(plant_d: Browsed) -> None:
    """Plant D: type definitions from the real companion-spec nodesets are read and used — MotorN under
    PowerTrainN is joint N, the AnalogUnitType counts for an analog role, 40001's CurrentState is the state,
    40010's reported SpeedOverride (read-only) loses to the vendor's writable one, and the vendor's methods on
    the system's only controller are proposed for its only robot."""
    tags, values, facts, _ = plant_d
    assert facts.object_types["HB/CELL/MotionDeviceSystem/MotionDevices/R1"] == "MotionDeviceType"
    assert facts.variable_types["ns=6;s=HB.CELL.R1.PT2.M2.Temp"] == "AnalogUnitType"
    prop = propose_mapping(resolve_spec("robotics")[0], tags, values, facts=facts)
    assert prop.equipment == "HB/CELL/MotionDeviceSystem/MotionDevices/R1"
    assert not prop.ambiguous
    by = prop.roles
    assert (by["joint2_temperature"].tag_id, by["joint2_temperature"].confidence) == \
        ("ns=6;s=HB.CELL.R1.PT2.M2.Temp", "high")
    assert any("AnalogUnitType" in r for r in by["joint2_temperature"].reasons)
    assert (by["speed_override"].tag_id, by["speed_override"].confidence) == ("ns=6;s=HB.CELL.R1.OVR_SET", "high")
    assert (by["robot_state"].tag_id, by["robot_state"].confidence) == ("ns=6;s=HB.CELL.R1.MIS.CurrentState",
                                                                        "medium")
    # RC1 is the only controller of a system with one motion device: it drives R1, so its methods are proposed
    # with the confidence their names earn (plant F has two controllers: there the naming must pair them)
    for role, method in (("reset_fault", "AlarmReset"), ("move_home", "GoOrigin")):
        assert (by[role].tag_id, by[role].confidence) == (f"ns=6;s=HB.CELL.RC1.{method}", "high")
        assert by[role].equipment == "RC1"
        assert any("the only controller of the motion device system" in r for r in by[role].reasons)
    assert by["set_speed_override"].tag_id is None  # SelectProgram(ProgramName: String) is no override setter
    assert by["joint2_torque"].confidence != "high"  # a load rate is not a torque
