"""Every sector pilot is complete: spec valid, roles exist on its simulator model, ≥ 5 scenarios, ko+en knowledge."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from factorypilot.cli._app import app
from factorypilot.cli._commands import register
from factorypilot.pilots.evaluation.harness import load_scenarios
from factorypilot.pilots.runtime import reference_pilots, resolve_spec
from factorypilot.pilots.simulator import available_models

SECTORS = ["healthcare", "robotics", "abb"]


def test_reference_pilots_include_every_sector() -> None:
    assert set(SECTORS) | {"mobility"} <= set(reference_pilots())


@pytest.mark.parametrize("sector", SECTORS)
def test_spec_is_complete(sector: str) -> None:
    spec, path = resolve_spec(sector)
    assert spec.sector == sector
    assert spec.simulator is not None
    model = available_models()[spec.simulator.model]
    signals = {s.role for s in model.signals}
    assert {r for r, rs in spec.roles.items() if rs.kind == "signal"} <= signals
    methods = {m.name for m in model.methods}
    for role in (rs for rs in spec.roles.values() if rs.kind == "method"):
        assert set(role.aliases) & methods, "a method role names its simulator method among its aliases"
    writable = {s.role for s in model.signals if s.writable}
    assert {r for r, role in spec.roles.items() if role.writable} <= writable
    assert {rule.target for rule in spec.policy.tags} <= writable
    scenarios = load_scenarios(spec, path)
    assert len(scenarios) >= 5
    assert any(s.expect.detect for s in scenarios)
    assert any(not s.expect.detect for s in scenarios)
    for s in scenarios:
        assert {f.role for f in s.faults if f.role} <= signals
        if s.expect.action and s.expect.action.playbook:
            assert s.expect.action.playbook in {p.id for p in spec.playbooks}
    docs = sorted(p.name for p in (path.parent / "knowledge").glob("*.md"))
    korean = [d for d in docs if d.endswith(".ko.md")]
    assert korean
    assert len(docs) == 2 * len(korean)  # each document in English and Korean
    assert spec.gate.safety_violations == 0
    assert spec.gate.unverified_done == 0


@pytest.mark.parametrize("sector", SECTORS)
def test_cli_validates_the_spec(sector: str) -> None:
    register(app)
    res = CliRunner().invoke(app, ["pilot", "validate", sector])
    assert res.exit_code == 0, res.output
