"""PilotSpec: validation messages, role binding, planner selection."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from factorypilot.errors import ConfigError
from factorypilot.pilots.runtime import reference_pilots, resolve_spec
from factorypilot.pilots.spec import load_spec


def _write(tmp_path: Path, **changes: object) -> Path:
    src = reference_pilots()["mobility"]
    data = yaml.safe_load(src.read_text(encoding="utf-8"))
    data["playbooks"] = str(src.parent / "playbooks.yaml")
    data.update(changes)
    path = tmp_path / "pilot.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_reference_pilot_loads_by_name_and_id() -> None:
    spec, path = resolve_spec("mobility")
    assert spec.id == "mobility-cnc"
    assert resolve_spec("mobility-cnc")[1] == path
    assert spec.playbooks, "playbooks.yaml is loaded relative to the spec"


def test_unbound_required_roles_refuse_to_build(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path))
    with pytest.raises(ConfigError, match=r"unmapped required roles: .*spindle_vibration"):
        spec.agent_config({})
    cfg = spec.agent_config({r: f"ns=2;s={r}" for r in spec.roles})
    assert cfg.roles["feed_override"] == "ns=2;s=feed_override"


def test_detector_on_unknown_role_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, detectors=[{"kind": "threshold", "role": "주축_없음", "high": 1}])
    with pytest.raises(ConfigError, match="unknown role '주축_없음'"):
        load_spec(path)


def test_planner_block_is_validated_at_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="modle"):
        load_spec(_write(tmp_path, planner={"type": "llm", "modle": "x"}))
    spec = load_spec(_write(tmp_path, planner={"type": "llm", "provider": "ollama", "model": "qwen3"}))
    assert spec.planner is not None


async def test_llm_planner_requested_without_a_planner_block(tmp_path: Path) -> None:
    from factorypilot.connectors import InMemoryConnector
    from factorypilot.pilots.runtime import open_pilot

    spec, path = resolve_spec("mobility")
    with pytest.raises(ConfigError, match="configures no LLM planner"):
        async with open_pilot(spec, path, connector=InMemoryConnector(), home=tmp_path, knowledge=False,
                              bindings={r: r for r in spec.roles}, planner_kind="llm"):
            pass


def test_bad_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "pilot.yaml"
    path.write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot read pilot spec") as info:
        load_spec(path)
    assert str(path) in str(info.value)


def _robotics(tmp_path: Path, edit: object) -> Path:
    src = reference_pilots()["robotics"]
    data = yaml.safe_load(src.read_text(encoding="utf-8"))
    data["playbooks"] = yaml.safe_load((src.parent / "playbooks.yaml").read_text(encoding="utf-8"))["playbooks"]
    edit(data)  # type: ignore[operator]
    path = tmp_path / "pilot.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _setter_step(data: dict[str, object], args: list[object]) -> None:
    for pb in data["playbooks"]:  # type: ignore[attr-defined]
        for a in pb["actions"]:
            if a.get("call") == "set_speed_override":
                a["args"] = args


def test_a_call_must_pass_the_arguments_its_method_role_declares(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"call set_speed_override passes 2 argument\(s\); the role declares 1 "
                                          r"\(percent\)"):
        load_spec(_robotics(tmp_path, lambda d: _setter_step(d, [80, 1])))
    with pytest.raises(ConfigError, match=r"call set_speed_override passes 0 argument"):
        load_spec(_robotics(tmp_path, lambda d: _setter_step(d, [])))


def test_method_rule_args_and_confirm_args_name_the_roles_arguments(tmp_path: Path) -> None:
    def rule(d: dict[str, object]) -> None:
        d["policy"]["methods"][-1]["args"] = [{"name": "speed", "min": 50, "max": 100}]  # type: ignore[index]

    with pytest.raises(ConfigError, match="args speed do not match the role's arguments percent"):
        load_spec(_robotics(tmp_path, rule))

    def confirm(d: dict[str, object]) -> None:
        d["roles"]["set_speed_override"]["confirm_args"] = {"speed_override": "pct"}  # type: ignore[index]

    with pytest.raises(ConfigError, match="confirm_args names argument\\(s\\) pct the role does not declare"):
        load_spec(_robotics(tmp_path, confirm))


def test_a_step_without_expect_reads_back_the_argument_it_passed(tmp_path: Path) -> None:
    spec = load_spec(_robotics(tmp_path, lambda d: _setter_step(d, [60])))
    cfg = spec.agent_config({r: f"ns=2;s={r}" for r in spec.roles})
    steps = [a for pb in cfg.playbooks for a in pb.actions if a.call == "set_speed_override"]
    assert [(a.args, a.expect) for a in steps] == [([60], {"speed_override": 60})] * 2


def test_an_unbound_optional_method_role_drops_its_step(tmp_path: Path) -> None:
    """A plant without an override setter (not bound, not declared absent): the recovery has no setter call, so
    nothing is ever called on a node id made of the role's name."""
    spec = load_spec(_robotics(tmp_path, lambda d: None))
    bound = {r: f"ns=2;s={r}" for r, rs in spec.roles.items() if r != "set_speed_override"}
    cfg = spec.agent_config(bound)
    calls = [a.call for pb in cfg.playbooks if pb.id == "robot-fault" for a in pb.actions if a.call]
    assert calls == ["reset_fault", "move_home"]
