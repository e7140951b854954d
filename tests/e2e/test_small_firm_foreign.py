"""The small-firm flow on a foreign plant (plant B, a medical packaging line the robotics template was not
written against), through the CLI in three commands: ``template init`` → ``template map`` (answers file that
declares absent roles, one of them an interlock signal, acknowledged) → ``template run`` read-only, which
detects an injected robot fault and blocks every action because the fence-door signal is not bound."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factorypilot.agents import Ledger
from factorypilot.cli._app import app
from factorypilot.cli._commands import register
from factorypilot.pilots.spreading._plants import serving_plant
from factorypilot.pilots.spreading.templates import Project, export_template

from ._fenced_plants import fenced_plant

register(app)
runner = CliRunner()
PLANT_B = Path(__file__).parents[1] / "pilots" / "spreading" / "plants" / "plant_b_medical.json"
# what the pick-and-place robot of plant B does not have (the fence door feeds an interlock: acknowledged)
ABSENT_ANSWERS = ("joint2_torque: null\njoint2_temperature: null\nmove_home: null\ncell_door_open: null\n"
                  "acknowledge: [cell_door_open]\n")


def _cli(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_three_commands_from_template_to_a_read_only_pilot_on_a_foreign_plant(fp_home: Path, tmp_path: Path) -> None:
    export_template("robotics", fp_home / "templates", home=fp_home, override_reason="e2e", by="lead")
    project = tmp_path / "메디텍"
    answers = tmp_path / "answers.yaml"
    answers.write_text(ABSENT_ANSWERS, encoding="utf-8")
    with serving_plant(PLANT_B) as plant:
        started = time.perf_counter()
        out = _cli("template", "init", "robotics-weld-cell", "--company", "메디텍", "--endpoint", plant.endpoint,
                   "--dir", str(project))
        assert "writes disabled" in out
        out = _cli("template", "map", "--project", str(project), "--answers", str(answers))
        assert "read-only check passed" in out
        assert "cell_door_open absent (acknowledged)" in out
        assert "joint2_torque absent → disabled: detector threshold on joint2_torque" in out
        spec = Project.open(project).spec()
        assert spec.absent == ["joint2_torque", "joint2_temperature", "cell_door_open", "move_home"]
        assert spec.bindings["fault_code"] == "ns=2;s=MTK.PKG.PNP01.ERR"
        assert spec.bindings["reset_fault"] == "ns=2;s=MTK.PKG.PNP01.ErrReset"
        assert "joint2_torque" not in spec.bindings
        # a robot fault on the plant
        plant.set("s=MTK.PKG.PNP01.ERR", 1203)
        plant.set("s=MTK.PKG.PNP01.ALM", True)
        out = _cli("template", "run", "--project", str(project), "--max-runs", "1", "--seconds", "60",
                   "--no-knowledge", "--lang", "en")
        elapsed = time.perf_counter() - started
        assert "stopped after 1 run(s)" in out
        assert plant.get("s=MTK.PKG.PNP01.ERR") == 1203  # nothing was reset: read-only, and the interlock blocks
    with Ledger(Project.open(project).home / "ledger.sqlite") as ledger:
        mapping = ledger.records(kind="template.mapping")[-1].payload
        assert mapping["absent_acknowledged"] == ["cell_door_open"]
        refusals = [r.payload for r in ledger.records(kind="refusal")]
        assert refusals, [r.kind for r in ledger.records()]
        assert any("interlock signal not bound" in str(p) for p in refusals), refusals
        assert ledger.verify().ok
    print(f"small firm on a foreign plant: 3 commands, {elapsed:.1f} s to the first handled event")


def test_read_only_identity_warns_and_enable_writes_waits_for_a_write_capable_check(fp_home: Path,
                                                                                    tmp_path: Path) -> None:
    """A viewer login cannot write the speed override: the check passes with a warning in read-only mode, and
    enable-writes refuses until a check with an identity that can write it has passed."""
    export_template("robotics", fp_home / "templates", home=fp_home, override_reason="e2e", by="lead")
    project = tmp_path / "firm"
    answers = tmp_path / "answers.yaml"
    answers.write_text(ABSENT_ANSWERS, encoding="utf-8")
    with serving_plant(PLANT_B) as plant:
        plant.user_writable("s=MTK.PKG.PNP01.OVR", False)
        _cli("template", "init", "robotics-weld-cell", "--company", "firm", "--endpoint", plant.endpoint,
             "--dir", str(project))
        out = _cli("template", "map", "--project", str(project), "--answers", str(answers))
        assert "read-only check passed" in out
        assert "not writable for this user" in out
        proj = Project.open(project)
        assert proj.spec().bindings["speed_override"] == "ns=2;s=MTK.PKG.PNP01.OVR"
        assert proj.last_check()["write_capable"] is False  # type: ignore[index]
        refused = runner.invoke(app, ["template", "enable-writes", "--project", str(project), "--by", "김반장",
                                      "--reason", "검증 완료"])
        assert refused.exit_code == 1
        assert "identity that cannot write the setpoints" in str(refused.exception)
        plant.user_writable("s=MTK.PKG.PNP01.OVR", True)  # the administrator gives the pilot's user write access
        out = _cli("template", "check", "--project", str(project), "--reads", "2")
        assert "read-only check passed" in out
        _cli("template", "enable-writes", "--project", str(project), "--by", "김반장", "--reason", "2주 검증 완료")
        assert proj.writes_enabled()
    with Ledger(proj.home / "ledger.sqlite") as ledger:
        rec = ledger.records(kind="template.writes_enabled")[-1]
        assert (rec.payload["by"], rec.payload["reason"]) == ("김반장", "2주 검증 완료")


def test_interactive_map_asks_which_robot_and_takes_absent_answers(fp_home: Path, tmp_path: Path) -> None:
    """Plant A (node-opcua): two robots, so the prompt asks which one; the person answers 'absent' for what
    the robot lacks and acknowledges the missing fence-door interlock signal."""
    import shutil

    import pytest

    from factorypilot.pilots.spreading._plants import node_modules, serving_node_plant

    if shutil.which("node") is None or node_modules() is None:
        pytest.skip("node or node-opcua is not installed: bash .ci/run installs node-opcua into ~/.cache/factorypilot")
    plants = Path(__file__).parents[1] / "pilots" / "spreading" / "plants"
    export_template("robotics", fp_home / "templates", home=fp_home, override_reason="e2e", by="lead")
    project = tmp_path / "대성오토텍"
    with serving_node_plant(plants / "plant_a_daesung.json", plants / "nodeopcua_plant.js") as plant:
        _cli("template", "init", "robotics-weld-cell", "--company", "대성오토텍", "--endpoint", plant.endpoint,
             "--dir", str(project))
        # machine RB01; joint2_torque (N·m, low): absent; robot_state (none): absent; fault_active (medium): 1;
        # cell_door_open (the CNC's door, medium): absent; reset_fault (medium): 1; acknowledge the interlock: y
        result = runner.invoke(app, ["template", "map", "--project", str(project), "--no-check"],
                               input="RB01\nabsent\nabsent\n1\nabsent\n1\ny\n")
        assert result.exit_code == 0, result.output
        out = " ".join(result.output.split())
        assert "several machines could host this template" in out
        assert "robot_state absent → disabled: KPIs oee" in out
        assert "cell_door_open absent (acknowledged)" in out
    spec = Project.open(project).spec()
    assert spec.absent == ["joint2_torque", "robot_state", "cell_door_open"]
    assert spec.absent_acknowledged == ["cell_door_open"]
    assert spec.bindings["fault_code"] == "ns=2;i=1003"
    assert spec.bindings["reset_fault"] == "ns=2;i=1090"
    assert all(not t.startswith("ns=2;s=DSA.L1.CNC01") for t in spec.bindings.values())


def test_the_firm_approves_in_its_project_with_project_and_no_environment_variable(
        fp_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``runs list|show|approve --project DIR`` reads and decides the runs of the project's home (the one
    ``template run --project DIR`` writes), while FACTORYPILOT_HOME points elsewhere (here: the catalog's home)."""
    import sqlite3

    from factorypilot.cli import _runs

    monkeypatch.setattr(_runs.console, "width", 250)  # the run ids in the table unfolded
    export_template("robotics", fp_home / "templates", home=fp_home, override_reason="e2e", by="lead")
    project = tmp_path / "메디텍"
    answers = tmp_path / "answers.yaml"
    answers.write_text("joint2_torque: null\njoint2_temperature: null\nmove_home: null\n"
                       "cell_door_open: ns=2;s=MTK.PKG.FENCE_DR\n", encoding="utf-8")
    with serving_plant(fenced_plant(PLANT_B, "PKG", "s=MTK.PKG.FENCE_DR", tmp_path / "plant_b_fenced.json")) as plant:
        _cli("template", "init", "robotics-weld-cell", "--company", "메디텍", "--endpoint", plant.endpoint,
             "--dir", str(project), "--lang", "en")
        assert "read-only check passed" in _cli("template", "map", "--project", str(project), "--answers",
                                                str(answers))
        _cli("template", "enable-writes", "--project", str(project), "--by", "김반장", "--reason", "2주 검증 완료")
        plant.set("s=MTK.PKG.PNP01.ERR", 1203)
        plant.set("s=MTK.PKG.PNP01.ALM", True)
        _cli("template", "run", "--project", str(project), "--max-runs", "1", "--seconds", "60", "--no-knowledge",
             "--lang", "en")
        home = Project.open(project).home
        db = sqlite3.connect(home / "agent.sqlite")
        try:
            [(run_id, status)] = db.execute("SELECT run_id, status FROM runs").fetchall()
        finally:
            db.close()
        assert status == "waiting_approval"
        # without --project the command looks at FACTORYPILOT_HOME, which has no runs: it says so
        lost = runner.invoke(app, ["runs", "list"])
        assert lost.exit_code == 1
        assert "no runs yet" in str(lost.exception)
        assert "--project DIR" in str(lost.exception)
        assert run_id in _cli("runs", "list", "--project", str(project), "--status", "waiting_approval")
        shown = _cli("runs", "show", run_id, "--project", str(project), "--lang", "ko")
        assert "승인 요청" in shown
        assert "ns=2;s=MTK.PKG.PNP01.ErrReset" in shown
        out = _cli("runs", "approve", run_id, "--project", str(project), "--by", "김반장", "--comment", "셀 확인")
        assert "approved by 김반장" in out
        assert f"template run --project {project}" in out
        again = runner.invoke(app, ["runs", "approve", run_id, "--project", str(project), "--by", "이주임"])
        assert again.exit_code == 1
        assert "already approved by 김반장" in str(again.exception)
        _cli("template", "run", "--project", str(project), "--max-runs", "1", "--seconds", "60", "--no-knowledge",
             "--lang", "en")
        assert plant.get("s=MTK.PKG.PNP01.ERR") == 0  # the approved reset reached the plant
        assert run_id in _cli("runs", "list", "--project", str(project), "--status", "done")
    # no run went to the environment's home (its agent.sqlite holds the export ledger's head only)
    assert not _runs._has_runs(fp_home / "agent.sqlite")
    db = sqlite3.connect(home / "agent.sqlite")
    try:
        assert db.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchall() == [("done",)]
    finally:
        db.close()
    with Ledger(home / "ledger.sqlite") as ledger:
        assert ledger.verify().ok
        assert [r.payload["by"] for r in ledger.records(kind="approval")] == ["김반장"]
        calls = [(r.payload["kind"], r.payload["target"], r.payload["approved_by"], r.payload["status"])
                 for r in ledger.records(kind="action")]
        assert ("method", "ns=2;s=MTK.PKG.PNP01.ErrReset", "김반장", "executed") in calls
        back = next(r.payload for r in ledger.records(kind="read-back")
                    if r.payload["target"] == "ns=2;s=MTK.PKG.PNP01.ErrReset")
        assert back["status"] == "done"


def test_runs_with_a_folder_that_is_no_project_says_so(fp_home: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["runs", "approve", "some-run", "--project", str(tmp_path), "--by", "김반장"])
    assert result.exit_code == 1
    assert "not a pilot project: project.yaml missing" in str(result.exception)
    assert not (tmp_path / "home").exists()  # nothing was created in the wrong folder
