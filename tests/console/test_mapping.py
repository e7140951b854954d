"""Template mapping review in the console, against a real OPC UA plant (plant B, a medical packaging line the
robotics template was not written against): the proposal with confidence, reasons and live values; only
``high`` preselected; the operator role decides, a viewer cannot, another firm cannot even see the project;
the same rules as ``template map`` (interlock absence needs an acknowledgement, an unknown tag is refused, an
undecided required role stays unmapped); what is saved is in pilot.yaml and in the ledger with the user."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from factorypilot.agents import Ledger
from factorypilot.console import ConsoleConfig, UserStore, create_app
from factorypilot.pilots.spreading._plants import PlantServer, serving_plant
from factorypilot.pilots.spreading.templates import Project, export_template, init_from_template
from tests.console.conftest import FAST_HASHER, PASSWORD, csrf_of, login

PLANT_B = Path(__file__).parents[1] / "pilots" / "spreading" / "plants" / "plant_b_medical.json"
P = "ns=2;s=MTK.PKG.PNP01."
HIGH = {"speed_override": P + "OVR", "cycle_time": P + "CT", "robot_state": P + "STS", "fault_active": P + "ALM",
        "fault_code": P + "ERR", "homed": P + "HOME", "reset_fault": P + "ErrReset"}
NO_CANDIDATE = ["joint2_torque", "joint2_temperature", "cell_door_open", "move_home", "set_speed_override"]


@pytest.fixture
def plant() -> Iterator[PlantServer]:
    with serving_plant(PLANT_B) as p:
        yield p


@pytest.fixture
def setup(fp_home: Path, tmp_path: Path, plant: PlantServer) -> tuple[TestClient, Project]:
    fp_home.mkdir(parents=True, exist_ok=True)
    tpl = export_template("robotics", fp_home / "templates", home=fp_home, override_reason="console test", by="t")
    project = init_from_template(tpl, company="acme", endpoint=plant.endpoint,
                                 dest=tmp_path / "projects" / "acme-robot")
    users = UserStore(fp_home / "console.sqlite", hasher=FAST_HASHER)
    for name, role, company in (("op", "operator", "acme"), ("lee", "viewer", "acme"), ("park", "operator", "beta")):
        users.add_user(name, role, company, PASSWORD)
    users.close()
    client = TestClient(create_app(ConsoleConfig(home=fp_home, projects=(tmp_path / "projects",))),
                        raise_server_exceptions=False)
    return client, project


def _form(csrf: str, **extra: str) -> dict[str, str]:
    return {"csrf": csrf, **{f"role:{r}": t for r, t in HIGH.items()}, **extra}


def test_review_shows_the_proposal_and_preselects_only_high(setup: tuple[TestClient, Project]) -> None:
    client, project = setup
    with client:
        login(client, "op")
        listing = client.get("/mapping")
        assert "acme-robot" in listing.text
        assert "joint2_torque" in listing.text
        page = client.get("/mapping/acme-robot")
        assert page.status_code == 200, page.text
        html = page.text
        assert "MTK/PKG/PNP01" in html
        assert re.search(r'id="uncertain">[^<]*5', html), "5 of 12 roles need review"
        for role, tag in HIGH.items():  # a high proposal is preselected ...
            assert re.search(rf'name="role:{role}" id="c-{role}-\d+" value="{re.escape(tag)}" checked', html), role
        for role in NO_CANDIDATE:  # ... an uncertain one is not: "decide later" is
            assert f'name="role:{role}" id="skip-{role}" value="skip" checked' in html, role
            assert re.search(rf'name="role:{role}"[^>]*value="absent" checked', html) is None
        assert 'name="ack:cell_door_open"' in html  # the interlock role asks for an acknowledgement
        live = re.search(r'<code>ns=2;s=MTK\.PKG\.PNP01\.OVR</code>.*?class="live-value">([^<]+)<', html, re.S)
        assert live
        assert live.group(1).strip() not in ("", "—")
    assert Project.open(project.root).spec().bindings == {}  # looking changes nothing


def test_operator_decides_with_the_rules_of_template_map(setup: tuple[TestClient, Project]) -> None:
    client, project = setup
    with client:
        login(client, "op")
        csrf = csrf_of(client.get("/mapping/acme-robot").text)
        # the interlock signal marked absent without the acknowledgement: refused, nothing saved
        refused = client.post("/mapping/acme-robot", data=_form(csrf, **{f"role:{r}": "absent" for r in NO_CANDIDATE}))
        assert refused.status_code == 400
        assert "cell_door_open" in refused.text
        assert "interlock" in refused.text
        assert Project.open(project.root).spec().bindings == {}
        # a tag that is not on the plant: refused with the reason
        bad = client.post("/mapping/acme-robot", data=_form(csrf, **{"other:joint2_torque": "NoSuchTag"}))
        assert bad.status_code == 400
        assert "NoSuchTag" in bad.text
        assert Project.open(project.root).spec().bindings == {}
        # acknowledged; joint2_temperature left undecided → saved, and it stays a missing required role
        done = client.post("/mapping/acme-robot", data=_form(
            csrf, **{"role:joint2_torque": "absent", "role:cell_door_open": "absent", "ack:cell_door_open": "yes",
                     "role:move_home": "absent", "role:joint2_temperature": "skip"}))
        assert done.status_code == 200, done.text
        assert 'id="missing"' in done.text
        assert "joint2_temperature" in done.text
        assert 'id="check"' not in done.text  # no read-only check while a required role is unmapped
        # the last required role marked absent: complete, and the read-only check runs as template map does
        complete = client.post("/mapping/acme-robot", data=_form(
            csrf, **{"role:joint2_torque": "absent", "role:cell_door_open": "absent", "ack:cell_door_open": "yes",
                     "role:move_home": "absent", "role:joint2_temperature": "absent"}))
        assert complete.status_code == 200, complete.text
        assert 'id="complete"' in complete.text
        assert 'id="check" class="pass" data-passed="yes"' in complete.text
    reports = sorted((project.home / "reports").rglob("readonly-*/report.json"))
    assert len(reports) == 1
    spec = Project.open(project.root).spec()
    assert spec.bindings == HIGH
    assert spec.absent == ["joint2_torque", "joint2_temperature", "cell_door_open", "move_home"]
    assert spec.missing_roles() == []
    assert spec.absent_acknowledged == ["cell_door_open"]
    with Ledger(project.home / "ledger.sqlite") as ledger:
        records = ledger.records(kind="template.mapping")
        assert len(records) == 2  # the two refusals wrote nothing; the partial save and the complete one did
        assert records[0].payload["absent"] == ["joint2_torque", "cell_door_open", "move_home"]
        assert records[1].payload["source"] == "console: op"
        assert records[1].payload["bindings"] == HIGH
        assert records[1].payload["absent_acknowledged"] == ["cell_door_open"]


def test_viewer_cannot_decide_and_another_firm_cannot_see(setup: tuple[TestClient, Project]) -> None:
    client, project = setup
    with client:
        login(client, "lee")
        page = client.get("/mapping/acme-robot")
        assert page.status_code == 200
        assert 'id="needs-operator"' in page.text
        assert 'id="save-mapping"' not in page.text
        refused = client.post("/mapping/acme-robot", data=_form(csrf_of(page.text)))
        assert refused.status_code == 403
        client.cookies.clear()
        login(client, "park")
        assert "acme-robot" not in client.get("/mapping").text
        assert client.get("/mapping/acme-robot").status_code == 404
        other = client.post("/mapping/acme-robot", data=_form(csrf_of(client.get("/mapping").text)))
        assert other.status_code == 404
    assert Project.open(project.root).spec().bindings == {}
