"""Plant A on node-opcua with real logins (a viewer and an operator, per-user write permission by role) and a
safety-fence door signal the firm has wired: the small firm maps as the viewer (password typed at the prompt),
the check warns that the setpoint is not writable for that user and ``enable-writes`` waits; a check as the
operator passes; an injected robot fault then leads to approved ``RstFlt``/``GoHome`` calls and a
``SetOvr(Percent=80)`` call with its argument on the foreign stack, approved in the project with
``runs approve --project``, that end ``done`` only after the read-back (guard, approval and ledger all in the
path; the plant's commanded override reads 80 %)."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factorypilot.agents import Ledger
from factorypilot.cli._app import app
from factorypilot.cli._commands import register
from factorypilot.connectors.registry import create
from factorypilot.pilots.spreading._plants import node_modules, serving_node_plant
from factorypilot.pilots.spreading.templates import Project, export_template

from ._fenced_plants import fenced_plant

register(app)
runner = CliRunner()
PLANTS = Path(__file__).parents[1] / "pilots" / "spreading" / "plants"
USERS = {"kim": {"password": "op-pass", "role": "Operator"}, "lee": {"password": "view-pass", "role": "Observer"}}
ANSWERS = """equipment: RB01
joint2_torque: null          # N·m on this robot, % in the template: not the same signal
joint2_temperature: ns=2;i=1022
speed_override: ns=2;i=1004
cycle_time: ns=2;i=1006
robot_state: null
fault_active: ns=2;i=1002
fault_code: ns=2;i=1003
homed: ns=2;i=1008
cell_door_open: FENCE_DR
reset_fault: ns=2;i=1090
move_home: ns=2;i=1091
set_speed_override: SetOvr   # SetOvr(Percent: Double, "override in %"): the method role with an argument
"""

pytestmark = pytest.mark.skipif(shutil.which("node") is None or node_modules() is None,
                                reason="node or node-opcua is not installed: bash .ci/run installs node-opcua "
                                       "into ~/.cache/factorypilot")


def _cli(*args: str, input: str | None = None) -> str:
    result = runner.invoke(app, list(args), input=input, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def _read(endpoint: str, node_id: str) -> object:
    """The plant's own value, read by a separate anonymous client (observers may read)."""
    async def go() -> object:
        async with create("opcua", {"endpoint": endpoint}) as conn:
            return (await conn.read([node_id]))[0].value

    return asyncio.run(go())


def _runs(home: Path) -> list[tuple[str, str]]:
    db = sqlite3.connect(home / "agent.sqlite")
    try:
        return db.execute("SELECT run_id, status FROM runs ORDER BY rowid").fetchall()
    finally:
        db.close()


def test_viewer_login_then_operator_approved_method_call_ends_done_on_node_opcua(
        fp_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    export_template("robotics", fp_home / "templates", home=fp_home, override_reason="e2e", by="lead")
    project = tmp_path / "대성오토텍"
    answers = tmp_path / "answers.yaml"
    answers.write_text(ANSWERS, encoding="utf-8")
    monkeypatch.delenv("FACTORYPILOT_OPCUA_PASSWORD", raising=False)
    fenced = fenced_plant(PLANTS / "plant_a_daesung.json", "L1", "s=DSA.L1.FENCE_DR", tmp_path / "plant_a_fenced.json")
    with serving_node_plant(fenced, PLANTS / "nodeopcua_plant.js", {"users": USERS}) as plant:
        _cli("template", "init", "robotics-weld-cell", "--company", "대성오토텍", "--endpoint", plant.endpoint,
             "--dir", str(project), "--lang", "en")
        # a browse name both robots carry is refused, never resolved to one of them silently
        vague = tmp_path / "vague.yaml"
        vague.write_text(ANSWERS.replace("speed_override: ns=2;i=1004", "speed_override: OVR_CMD"), encoding="utf-8")
        refused = runner.invoke(app, ["template", "map", "--project", str(project), "--answers", str(vague),
                                      "--user", "lee"], input="view-pass\n")
        assert refused.exit_code == 1
        assert "'OVR_CMD' names 2 nodes: ns=2;i=1004, ns=2;g=" in str(refused.exception)
        # the viewer maps; the password is typed at a hidden prompt (never stored)
        out = _cli("template", "map", "--project", str(project), "--answers", str(answers), "--user", "lee",
                   input="view-pass\n")
        assert "password for lee" in out
        assert "read-only check passed" in out
        assert "speed_override" in out
        assert "not writable for this user" in out
        proj = Project.open(project)
        assert "view-pass" not in proj.spec_path.read_text(encoding="utf-8")
        spec = proj.spec()
        assert spec.bindings["cell_door_open"] == "ns=2;s=DSA.L1.FENCE_DR"
        assert spec.bindings["reset_fault"] == "ns=2;i=1090"
        assert spec.absent == ["joint2_torque", "robot_state"]
        assert proj.last_check()["write_capable"] is False  # type: ignore[index]
        refused = runner.invoke(app, ["template", "enable-writes", "--project", str(project), "--by", "김반장",
                                      "--reason", "검증 완료"])
        assert refused.exit_code == 1
        assert "identity that cannot write the setpoints" in str(refused.exception)
        # a wrong password is one line, not a traceback
        wrong = runner.invoke(app, ["template", "check", "--project", str(project), "--user", "kim"],
                              input="nope\n")
        assert wrong.exit_code == 1
        assert "refused the identity" in str(wrong.exception)
        # the operator's login can write: the check passes write-capable, then writes are enabled
        monkeypatch.setenv("FACTORYPILOT_OPCUA_PASSWORD", "op-pass")
        out = _cli("template", "check", "--project", str(project), "--reads", "2", "--user", "kim")
        assert "read-only check passed" in out
        assert proj.last_check()["write_capable"] is True  # type: ignore[index]
        _cli("template", "enable-writes", "--project", str(project), "--by", "김반장", "--reason", "2주 검증 완료")
        # the robot faults and loses its home reference
        plant.set("i=1002", True)
        plant.set("i=1003", 1203)
        plant.set("i=1008", False)
        out = _cli("template", "run", "--project", str(project), "--max-runs", "1", "--seconds", "60",
                   "--no-knowledge", "--lang", "en", "--user", "kim")
        runs = _runs(proj.home)
        assert [s for _, s in runs] == ["waiting_approval"], (runs, out)
        run_id = runs[0][0]
        assert _read(plant.endpoint, "ns=2;i=1004") == 100.0  # nothing reaches the robot before the approval
        # a person approves from another shell, in the project (FACTORYPILOT_HOME still names another home),
        # then the next run applies it
        elsewhere = runner.invoke(app, ["runs", "list"])
        assert elsewhere.exit_code == 1
        assert "no runs yet" in str(elsewhere.exception)
        assert "--project DIR" in str(elsewhere.exception)
        shown = _cli("runs", "show", run_id, "--project", str(project))
        assert "ns=2;i=1092" in shown
        _cli("runs", "approve", run_id, "--project", str(project), "--by", "김반장", "--comment", "셀 내부 확인함")
        out = _cli("template", "run", "--project", str(project), "--max-runs", "1", "--seconds", "60",
                   "--no-knowledge", "--lang", "en", "--user", "kim")
        assert _runs(proj.home) == [(run_id, "done")], out
        # the override setter was called with its argument: the plant's commanded override now reads 80 %
        assert _read(plant.endpoint, "ns=2;i=1004") == 80.0
    with Ledger(proj.home / "ledger.sqlite") as ledger:
        assert ledger.verify().ok
        assert [r.payload["by"] for r in ledger.records(kind="approval")] == ["김반장"]
        backs = {r.payload["target"]: r.payload for r in ledger.records(kind="read-back")}
        # done only because the robot reported the expected state back (playbook expect on the bound roles)
        assert (backs["ns=2;i=1090"]["status"], backs["ns=2;i=1090"]["expected"], backs["ns=2;i=1090"]["read"]) == \
            ("done", {"ns=2;i=1002": False}, False)
        assert (backs["ns=2;i=1091"]["status"], backs["ns=2;i=1091"]["expected"], backs["ns=2;i=1091"]["read"]) == \
            ("done", {"ns=2;i=1008": True}, True)
        # the setter's read-back is the argument it passed (role confirm_args: speed_override = percent)
        assert (backs["ns=2;i=1092"]["status"], backs["ns=2;i=1092"]["expected"], backs["ns=2;i=1092"]["read"]) == \
            ("done", {"ns=2;i=1004": 80}, 80.0)
        plans = [r.payload for r in ledger.records(kind="decision")]
        assert [a["args"] for p in plans for a in p["actions"] if a["target"] == "ns=2;i=1092"] == [[80]]
        calls = [(r.payload["kind"], r.payload["target"], r.payload["approved_by"], r.payload["status"])
                 for r in ledger.records(kind="action")]
        assert calls == [("method", "ns=2;i=1090", "김반장", "executed"),
                         ("method", "ns=2;i=1091", "김반장", "executed"),
                         ("method", "ns=2;i=1092", "김반장", "executed"),
                         ("note", "maintenance", "김반장", "executed")]


def _until_accepted(connect: Callable[[], int], deadline_s: float = 30.0) -> int:
    """``connect()`` until the server accepts the newly trusted certificate; its last error after the deadline."""
    import time

    end = time.monotonic() + deadline_s
    while True:
        try:
            return connect()
        except Exception:
            if time.monotonic() > end:
                raise
            time.sleep(0.2)  # the server's file watcher, not our own state, is what we wait for


def test_node_opcua_plant_that_refuses_our_certificate_says_which_file_and_thumbprint(fp_home: Path,
                                                                                     tmp_path: Path) -> None:
    """A plant (node-opcua, refusing unknown client certificates) turns our certificate away: one line naming
    the file and its SHA-1; once the administrator trusts that file, the same connection works."""
    import asyncio

    from factorypilot.connectors.opcua._security import describe_certificate, own_certificate
    from factorypilot.connectors.registry import create
    from factorypilot.errors import SecurityError

    assert runner.invoke(app, ["connect", "cert", "create"]).exit_code == 0
    cert, key = own_certificate()
    sha1 = describe_certificate(cert)["sha1"]
    pki = tmp_path / "plant-pki"

    def browse(endpoint: str) -> int:
        async def go() -> int:
            config = {"endpoint": endpoint, "security_policy": "Basic256Sha256", "security_mode": "SignAndEncrypt",
                      "client_certificate": str(cert), "client_private_key": str(key),
                      "trusted_server_certificates": [str(pki / "own" / "certs" / "certificate.pem")]}
            async with create("opcua", config) as conn:
                return len(await conn.browse())
        return asyncio.run(go())

    export_template("robotics", fp_home / "templates", home=fp_home, override_reason="e2e", by="lead")
    project = tmp_path / "firm"
    with serving_node_plant(PLANTS / "plant_a_daesung.json", PLANTS / "nodeopcua_plant.js",
                            {"pki": str(pki), "trust_clients": False}) as plant:
        with pytest.raises(SecurityError) as refused:
            browse(plant.endpoint)
        line = str(refused.value)
        assert "\n" not in line
        assert "the server refused our client certificate" in line
        assert str(cert.resolve()) in line
        assert sha1 in line
        assert "trust" in line
        assert "factorypilot connect cert show" in line
        # the same through the CLI: init trusts the plant's certificate, map asks for an encrypted session
        server_pem = str(pki / "own" / "certs" / "certificate.pem")
        _cli("template", "init", "robotics-weld-cell", "--company", "firm", "--endpoint", plant.endpoint,
             "--dir", str(project), "--trust", server_pem)
        answers = tmp_path / "answers.yaml"
        args = ["template", "map", "--project", str(project), "--security", "Basic256Sha256", "--equipment",
                "RB01", "--write-answers", str(answers)]
        cli_refused = runner.invoke(app, args)
        assert cli_refused.exit_code == 1
        assert isinstance(cli_refused.exception, SecurityError)
        assert sha1 in str(cli_refused.exception)
        # the administrator does what the line says: moves our certificate from rejected/ to trusted/
        rejected = list((pki / "rejected").glob("*.pem"))
        assert len(rejected) == 1
        assert sha1.lower() in rejected[0].name
        shutil.move(str(rejected[0]), pki / "trusted" / "certs" / rejected[0].name)
        # node-opcua learns of the move through a file watcher (inotify, delivered asynchronously): the first
        # connection may still be judged against the old index, so connect until it is accepted (bounded)
        assert _until_accepted(lambda: browse(plant.endpoint)) > 40
        mapped = runner.invoke(app, args)  # browsed over Basic256Sha256; the firm still has questions to answer
        assert "required roles still unmapped" in str(mapped.exception)
        assert "fault_code: ns=2;i=1003  # high" in answers.read_text(encoding="utf-8")
        assert "security_policy" not in Project.open(project).spec_path.read_text(encoding="utf-8")
