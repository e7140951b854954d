"""Absent roles: declared by a person (answers ``null``, ``--absent``, the prompt), never by editing YAML; what
they feed is disabled and listed; an absent interlock signal needs an acknowledgement and then blocks every
action with "interlock signal not bound" (never a made-up reason)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from factorypilot.agents.safety import Guard
from factorypilot.errors import ConfigError
from factorypilot.pilots.runtime import resolve_spec
from factorypilot.pilots.spec import PilotSpec
from factorypilot.pilots.spreading.mapping import ABSENT, load_answers
from factorypilot.vocabulary import ActionKind, ActionRequest


def _robot(**changes: object) -> PilotSpec:
    spec = resolve_spec("robotics")[0]
    bindings = {r: f"ns=2;s=R.{r}" for r in spec.roles if r not in ("joint2_torque", "cell_door_open")}
    doc = spec.model_dump(mode="json") | {"bindings": bindings} | changes
    return PilotSpec.model_validate(doc)


def test_absent_interlock_signal_needs_acknowledgement() -> None:
    with pytest.raises(ValidationError, match="feeds interlock fence-door-open"):
        _robot(absent=["joint2_torque", "cell_door_open"])
    spec = _robot(absent=["joint2_torque", "cell_door_open"], absent_acknowledged=["cell_door_open"])
    assert spec.missing_roles() == []


def test_absent_interlock_blocks_every_action_saying_why() -> None:
    spec = _robot(absent=["joint2_torque", "cell_door_open"], absent_acknowledged=["cell_door_open"])
    config = spec.agent_config()
    guard = Guard(config.policy, config.roles)
    for request in (ActionRequest(kind=ActionKind.WRITE, target="speed_override", value=80.0),
                    ActionRequest(kind=ActionKind.METHOD, target="reset_fault")):
        decision = guard.evaluate(request, {config.roles["speed_override"]: 100.0})
        assert not decision.allowed
        assert any("interlock signal not bound: cell_door_open" in r for r in decision.reasons), decision.reasons
        assert not any("safety fence door is open" in r for r in decision.reasons)


def test_what_an_absent_role_feeds_is_disabled() -> None:
    spec = _robot(absent=["joint2_torque", "cell_door_open"], absent_acknowledged=["cell_door_open"])
    assert spec.feeds("joint2_torque") == ["detector threshold on joint2_torque",
                                           "detector flatline on joint2_torque",
                                           "playbook joint2-torque-high (trigger)"]
    config = spec.agent_config()
    assert "joint2_torque" not in {d.role for d in config.detectors}
    assert "joint2-torque-high" not in {p.id for p in config.playbooks}
    # a method step without its own read-back takes the role's confirm: a confirmed call is done
    steps = [a for p in config.playbooks for a in p.actions if a.call == "reset_fault"]
    assert steps
    assert all(a.expect for a in steps)


def test_a_required_role_that_is_neither_mapped_nor_absent_still_blocks() -> None:
    spec = _robot(absent=["cell_door_open"], absent_acknowledged=["cell_door_open"])
    assert spec.missing_roles() == ["joint2_torque"]
    with pytest.raises(ConfigError, match="unmapped required roles: joint2_torque"):
        spec.agent_config()


def test_answers_file_null_skip_and_unconfirmed_guesses(tmp_path: Path) -> None:
    f = tmp_path / "answers.yaml"
    f.write_text("robot_state: null\nhomed: 없음\ncycle_time: skip\nacknowledge: [cell_door_open]\n",
                 encoding="utf-8")
    assert load_answers(f) == {"robot_state": ABSENT, "homed": ABSENT, "cycle_time": None}
    f.write_text("fault_code: ?ns=2;i=1003\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unconfirmed guess"):
        load_answers(f)
