"""A small firm's whole flow on the second plant, through the CLI: init → map (answers file) → eval
(read-only check) → read-only run. The plant is the ``mobility-kr`` simulator (Korean tag names) served by a
real asyncua server; the pilot connects over OPC-UA. Also measures commands and wall time."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import yaml
from typer.testing import CliRunner

from factorypilot.agents import Ledger
from factorypilot.cli._app import app
from factorypilot.cli._commands import register
from factorypilot.pilots.simulator import Fault, FaultKind, running_plant
from factorypilot.pilots.spreading.templates import Project, export_template, run_project

register(app)
runner = CliRunner()


def _cli(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())  # rich wraps long lines


def test_small_firm_template_to_read_only_run(fp_home: Path, tmp_path: Path) -> None:
    # the lead firm's pilot is in the catalog (gate overridden here: the eval harness is tested elsewhere)
    export_template("mobility", fp_home / "templates", home=fp_home, override_reason="e2e", by="lead",
                    generic=["knowledge/cnc-sop-m07.ko.md"])
    project = tmp_path / "성서정밀"
    with running_plant(model="mobility-kr", seed=11, realtime=True, tick_seconds=0.1) as plant:
        started = time.perf_counter()
        commands = 0
        # 1. init from the catalog, read-only
        out = _cli("template", "init", "mobility-cnc", "--company", "성서정밀(주)", "--endpoint", plant.endpoint,
                   "--dir", str(project))
        commands += 1
        assert "writes disabled" in out
        # 2. file mode, first pass: write the proposal for review (every role of this plant is proposed
        # high; a guess below high would be written with a leading '?' and refused until a person confirms it)
        answers = tmp_path / "answers.yaml"
        first = runner.invoke(app, ["template", "map", "--project", str(project), "--write-answers", str(answers),
                                    "--no-check"])
        commands += 1
        assert first.exit_code == 0, first.output
        proposal = yaml.safe_load(answers.read_text(encoding="utf-8"))
        assert proposal["machine_state"].endswith(".op_sts")
        assert not any(str(v).startswith("?") for v in proposal.values())
        # 3. map in file mode; ends with the live read-only check (the firm's "eval" before writes)
        out = _cli("template", "map", "--project", str(project), "--answers", str(answers))
        commands += 1
        assert "all required roles mapped" in out
        assert "read-only check passed" in out
        proj = Project.open(project)
        spec = proj.spec()
        assert spec.missing_roles() == []
        assert spec.policy.writes_enabled is False
        assert spec.bindings["spindle_vibration"].endswith(".spdl_vib")
        report = sorted((proj.home / "reports" / "mobility-cnc").glob("readonly-*/report.json"))
        assert report
        # 4. run read-only: a vibration drift is detected, the feed write is refused, the note is kept
        plant.inject(Fault(FaultKind.DRIFT, "spdl_vib", start_tick=plant.tick_index + 3, magnitude=0.08))
        outcomes = asyncio.run(asyncio.wait_for(run_project(proj, max_runs=1, period=0.1, knowledge=False), timeout=60))
        commands += 1
        elapsed = time.perf_counter() - started
        report_ = outcomes[-1].report or {}
        statuses = {r["request"]["kind"]: r["status"] for r in report_.get("results", [])}
        assert statuses == {"write": "refused", "note": "done"}, report_
        assert "read-only" in next(r["reason"] for r in report_["results"] if r["request"]["kind"] == "write")
        assert plant.write_log == []  # nothing was written to the firm's plant
        # the read-only check catches a wrong binding (press vibration in g for the spindle, a read-only feed)
        wrong = dict(spec.bindings, spindle_vibration=spec.bindings["spindle_vibration"].replace(
            "mct-01.spdl_vib", "hyd-press.prs_vib"), feed_override=spec.bindings["spindle_temperature"])
        proj.save_bindings(wrong)
        failed = runner.invoke(app, ["template", "check", "--project", str(project), "--reads", "2"])
        assert failed.exit_code == 1
        assert "read-only check failed" in str(failed.exception)
        problems = " ".join(failed.output.split())
        assert "unit 'g' vs role 'mm/s'" in problems
        assert "the role is a setpoint" in problems
    assert commands == 4
    assert elapsed < 15 * 60
    with Ledger(proj.home / "ledger.sqlite") as ledger:
        kinds = [r.kind for r in ledger.records()]
        assert kinds[:2] == ["template.init", "template.mapping"]
        assert "refusal" in kinds
        assert ledger.verify().ok
    print(f"small firm: {commands} commands, {elapsed:.1f} s from template to a read-only run")


def test_enabling_writes_is_explicit_and_recorded(fp_home: Path, tmp_path: Path) -> None:
    export_template("mobility", fp_home / "templates", home=fp_home, override_reason="e2e", by="lead")
    project = tmp_path / "firm"
    _cli("template", "init", "mobility-cnc", "--company", "대성금속", "--endpoint", "opc.tcp://127.0.0.1:4840",
         "--dir", str(project))
    refused = runner.invoke(app, ["template", "enable-writes", "--project", str(project), "--by", "김반장",
                                  "--reason", "검증 완료"])
    assert refused.exit_code == 1
    assert "unmapped required roles" in str(refused.exception)
    proj = Project.open(project)
    proj.save_bindings({r: f"ns=2;s=T.{r}" for r in proj.spec().roles})
    refused = runner.invoke(app, ["template", "enable-writes", "--project", str(project), "--by", "김반장",
                                  "--reason", "검증 완료"])
    assert refused.exit_code == 1
    assert "no passed read-only check" in str(refused.exception)  # the allowed path: test_small_firm_foreign.py
    assert not proj.writes_enabled()
