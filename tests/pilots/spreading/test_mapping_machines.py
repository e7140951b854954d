"""Which machine hosts a template, from the plant's own description (plants E and F, asyncua, answer keys
committed before the mapper used them).

* Plant E: two machines of one line with the same tag names and the same vendor object type — a welding robot
  and a machining center. Only their OPC 40001 Identification (DeviceClass, Model, Manufacturer) says which
  is which.
* Plant F: an OPC 40010 cell, two robots and two controllers in one MotionDeviceSystem; the robots' methods
  sit on the controllers.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from factorypilot.cli._app import app
from factorypilot.cli._commands import register
from factorypilot.connectors.registry import create
from factorypilot.pilots.runtime import resolve_spec
from factorypilot.pilots.spreading._accuracy import load_key, score_proposal
from factorypilot.pilots.spreading._plants import load_plant, serving_plant
from factorypilot.pilots.spreading.mapping import PlantFacts, propose_mapping, sample_plant
from factorypilot.pilots.spreading.templates import export_template
from factorypilot.vocabulary import Scalar, Tag

PLANTS = Path(__file__).parent / "plants"
Browsed = tuple[list[Tag], dict[str, list[Scalar]], PlantFacts]
ROBOT = "Hyundai Robotics HH7, serial HR7-23-0417, Industrial robot, 용접로봇"
CNC = "DN Solutions DNM 5700, serial DN57-22-1180, Machining center, 머시닝센터"


def _browse(path: Path) -> Browsed:
    async def go(endpoint: str) -> Browsed:
        async with create("opcua", {"endpoint": endpoint}) as conn:
            tags, values = await sample_plant(conn, reads=2, interval_s=0.1)
            return tags, values, PlantFacts.of(conn)

    with serving_plant(path) as plant:
        return asyncio.run(go(plant.endpoint))


def _variant(tmp_path: Path, name: str, edit: Any) -> Path:
    """Plant E changed in the test (the committed fixture stays as it is)."""
    desc = load_plant(PLANTS / "plant_e_sewon.json")
    line = desc["objects"][0]["children"][0]
    edit({m["browse"]: m for m in line["children"]})
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(desc, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def plant_e() -> Browsed:
    return _browse(PLANTS / "plant_e_sewon.json")


def test_identification_tells_the_robot_from_the_machining_center(plant_e: Browsed) -> None:
    tags, values, facts = plant_e
    robot = propose_mapping(resolve_spec("robotics")[0], tags, values, facts=facts)
    assert robot.equipment == "SW/L2/EQ1"
    assert not robot.ambiguous
    assert robot.identification == {"SW/L2/EQ1": ROBOT, "SW/L2/EQ2": CNC}
    assert robot.left_out == {"SW/L2/EQ2": "Identification DeviceClass 'Machining center' says machine tool, the "
                                            "template is for a robot"}
    key = load_key(PLANTS / "plant_e_sewon.answers.yaml")["templates"]
    score = score_proposal(robot, key["robotics"]["roles"])
    assert score["wrong_high"] == 0
    assert score["right"] == 7
    assert robot.roles["fault_code"].tag_id == "ns=2;s=SW.L2.EQ1.ERR_NO"
    assert robot.roles["fault_code"].confidence == "high"
    # the CNC's door is not the robot cell's fence door: proposed, but asked
    assert robot.roles["cell_door_open"].confidence != "high"
    cnc = propose_mapping(resolve_spec("mobility")[0], tags, values, facts=facts)
    assert cnc.equipment == "SW/L2/EQ2"
    assert score_proposal(cnc, key["mobility"]["roles"])["wrong_high"] == 0


def test_names_alone_are_ambiguous(tmp_path: Path) -> None:
    """The same plant without Identification: the fit cannot tell the two machines apart, so the firm is asked
    and nothing is taken unasked."""
    def drop(machines: dict[str, Any]) -> None:
        for m in machines.values():
            m["children"] = []

    tags, values, facts = _browse(_variant(tmp_path, "plant_e_no_ids", drop))
    prop = propose_mapping(resolve_spec("robotics")[0], tags, values, facts=facts)
    assert prop.ambiguous
    assert {prop.equipment, *prop.alternatives} == {"SW/L2/EQ1", "SW/L2/EQ2"}
    assert prop.identification == {}
    assert prop.left_out == {}
    assert all(rm.confidence != "high" for rm in prop.roles.values())


def test_two_robots_are_still_asked_and_the_question_shows_their_identification(tmp_path: Path,
                                                                                fp_home: Path) -> None:
    """Agreement never ends a question: EQ2 says it is a robot too, so the firm is asked which one — by name,
    maker, model and serial — in the proposal and in the CLI."""
    def both_robots(machines: dict[str, Any]) -> None:
        values = {v["browse"]: v for v in machines["EQ2"]["children"][0]["variables"]}
        values["DeviceClass"]["value"] = "Industrial robot"
        values["ComponentName"]["value"] = "핸들링로봇"
        values["Model"]["value"] = "HS220"

    path = _variant(tmp_path, "plant_e_two_robots", both_robots)
    tags, values, facts = _browse(path)
    prop = propose_mapping(resolve_spec("robotics")[0], tags, values, facts=facts)
    assert prop.ambiguous
    assert {prop.equipment, *prop.alternatives} == {"SW/L2/EQ1", "SW/L2/EQ2"}
    assert prop.machine_label("SW/L2/EQ1") == f"EQ1 ({ROBOT})"
    assert prop.machine_label("SW/L2/EQ2") == ("EQ2 (DN Solutions HS220, serial DN57-22-1180, Industrial robot, "
                                              "핸들링로봇)")
    assert all(rm.confidence != "high" for rm in prop.roles.values())
    assert any("EQ1 (Hyundai Robotics HH7" in r for r in prop.roles["fault_code"].reasons)

    register(app)
    runner = CliRunner()
    export_template("robotics", fp_home / "templates", home=fp_home, override_reason="test", by="lead")
    project = tmp_path / "firm"
    with serving_plant(path) as plant:
        init = runner.invoke(app, ["template", "init", "robotics-weld-cell", "--company", "세원정밀", "--endpoint",
                                   plant.endpoint, "--dir", str(project)])
        assert init.exit_code == 0, init.output
        asked = runner.invoke(app, ["template", "map", "--project", str(project), "--no-check"],
                              input="2\n" + "\n" * 20)
    out = " ".join(asked.output.split())
    assert "which one is it?" in out
    assert f"1. EQ1 ({ROBOT})" in out or f"2. EQ1 ({ROBOT})" in out
    assert "HS220, serial DN57-22-1180, Industrial robot" in out


@pytest.fixture(scope="module")
def plant_f() -> Browsed:
    return _browse(PLANTS / "plant_f_hwaseong.json")


def test_methods_on_the_chosen_robots_controller_are_proposed(plant_f: Browsed) -> None:
    """OPC 40010: RC2 drives R2 (shared name part, one-to-one in the MotionDeviceSystem), so R2's alarm reset,
    home and override setter on RC2 are proposed with a calibrated confidence — not RC1's."""
    tags, values, facts = plant_f
    spec = resolve_spec("robotics")[0]
    key = load_key(PLANTS / "plant_f_hwaseong.answers.yaml")["templates"]["robotics"]["roles"]
    r2 = propose_mapping(spec, tags, values, equipment="R2", facts=facts)
    methods = {r: (rm.tag_id, rm.confidence) for r, rm in r2.roles.items() if rm.kind == "method"}
    assert methods == {"reset_fault": ("ns=2;s=HW.C3.RC2.AlarmReset", "high"),
                       "move_home": ("ns=2;s=HW.C3.RC2.GoOrigin", "high"),
                       "set_speed_override": ("ns=2;s=HW.C3.RC2.SetOverride", "high")}
    assert any("controller RC2 and motion device R2 share the name part '2'" in r
               for r in r2.roles["reset_fault"].reasons)
    assert all("RC1" not in c.tag_id for c in r2.roles["reset_fault"].candidates)
    score = score_proposal(r2, key)
    assert (score["right"], score["wrong_high"]) == (8, 0)
    r1 = propose_mapping(spec, tags, values, equipment="R1", facts=facts)
    assert r1.roles["reset_fault"].tag_id == "ns=2;s=HW.C3.RC1.AlarmReset"
    # not named: two robots, the firm is asked which; the controllers are no hosts of the template
    first = propose_mapping(spec, tags, values, facts=facts)
    assert first.ambiguous
    assert {first.equipment, *first.alternatives} == {"HW/C3/MotionDeviceSystem/MotionDevices/R1",
                                                     "HW/C3/MotionDeviceSystem/MotionDevices/R2"}
    assert set(first.machines) == {*first.alternatives, first.equipment}
    assert all(rm.confidence != "high" for rm in first.roles.values())


def test_two_controllers_without_a_one_to_one_naming_are_asked(tmp_path: Path) -> None:
    """The same cell with controllers named Main and Sub: nothing says which drives R2, so their methods are
    proposed and asked, never taken unasked."""
    desc = load_plant(PLANTS / "plant_f_hwaseong.json")
    ctrls = desc["objects"][0]["children"][0]["children"][0]["children"][1]["children"]
    for c, name in zip(ctrls, ("Main", "Sub"), strict=True):
        c["browse"] = name
    path = tmp_path / "plant_f_main_sub.json"
    path.write_text(json.dumps(desc, ensure_ascii=False), encoding="utf-8")
    tags, values, facts = _browse(path)
    prop = propose_mapping(resolve_spec("robotics")[0], tags, values, equipment="R2", facts=facts)
    for role in ("reset_fault", "move_home", "set_speed_override"):
        rm = prop.roles[role]
        assert rm.tag_id is not None
        assert rm.confidence != "high", role
        assert {c.equipment for c in rm.candidates} >= {"Main", "Sub"}
    assert any("which has several: does it act on this robot?" in r for r in prop.roles["move_home"].reasons)
