"""A method call proposed through MCP (the SDK's client over stdio) against the robotics simulator's methods.

The robot is faulted; the assistant proposes ``reset_fault``. The pilot's guard allows it (the method is on the
allow-list), it waits for a named person, and after ``factorypilot runs approve`` the controller's
``ResetFault`` runs exactly once and the status is ``done`` only after the confirm read-back (fault code 0).
A method that is not on the allow-list is refused and nothing is called.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from factorypilot.agents import Ledger
from factorypilot.pilots.runtime import resolve_spec
from factorypilot.pilots.simulator import Fault, FaultKind, PlantHandle, running_plant

from .conftest import EXE, cli, env_for

PILOT = "robotics-weld-cell"


@pytest.fixture(scope="module")
def robot() -> Iterator[PlantHandle]:
    with running_plant(model="robotics", seed=5, realtime=True, tick_seconds=0.1) as handle:
        yield handle


def _bindings(tmp_path: Path, plant: PlantHandle) -> tuple[Path, dict[str, str]]:
    spec, _ = resolve_spec("robotics")
    bound = spec.simulator_bindings(plant.roles(), plant.method_ids())
    path = tmp_path / "robotics-bindings.yaml"
    path.write_text(yaml.safe_dump(bound, allow_unicode=True), encoding="utf-8")
    return path, bound


async def _call(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


def _calls(plant: PlantHandle, name: str) -> list[tuple[int, str, tuple[Any, ...]]]:
    return [c for c in plant.method_log if c[1].endswith(name)]


def _wait(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + 30
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


async def test_method_proposal_waits_for_a_person_and_runs_once(tmp_path: Path, robot: PlantHandle) -> None:
    home = tmp_path / "home"
    path, bound = _bindings(tmp_path, robot)
    assert bound["reset_fault"] == robot.method_ids()["ResetFault"]
    robot.inject(Fault(FaultKind.ALARM, magnitude=2105))
    _wait(lambda: robot.value("fault_code") == 2105, "the injected fault never showed")
    params = StdioServerParameters(command=EXE, args=["mcp", "--pilot", "robotics", "--company", "daegu-robotics",
                                                      "--endpoint", robot.endpoint, "--bindings", str(path),
                                                      "--allow-propose", PILOT], env=env_for(home))
    try:
        async with Client(params) as client:
            tags = await _call(client, "list_tags", {})
            assert set(tags["methods"]) == {"reset_fault", "move_home", "set_speed_override"}

            # not on the allow-list: refused by the guard, the controller is never called
            before = list(robot.method_log)
            refused = await _call(client, "propose_action", {
                "kind": "method", "target": "ns=2;s=robotics.cell-01.robot-01.Shutdown", "reason": "try it"})
            assert refused["status"] == "refused"
            assert refused["request_id"] is None
            assert any("allow-list" in r or "not allowed" in r for r in refused["reasons"]), refused["reasons"]
            assert robot.method_log == before

            pending = await _call(client, "propose_action", {"kind": "method", "target": "reset_fault",
                                                             "reason": "fault 2105 after a collision check"})
            assert pending["status"] == "pending_approval", pending
            assert pending["target"] == bound["reset_fault"]
            rid = pending["request_id"]
            assert (await _call(client, "get_action_status", {"request_id": rid}))["status"] == "pending_approval"
            assert _calls(robot, "ResetFault") == []
            assert robot.value("fault_code") == 2105

            approved = cli(home, "runs", "approve", rid, "--by", "최수연")
            assert approved.returncode == 0, approved.stdout + approved.stderr
            deadline = time.monotonic() + 60
            status = await _call(client, "get_action_status", {"request_id": rid})
            while status["status"] in ("pending_approval", "approved", "running") and time.monotonic() < deadline:
                status = await _call(client, "get_action_status", {"request_id": rid})
            assert status["status"] == "done", status
            assert status["decided_by"] == "최수연"
            [action] = status["actions"]
            assert (action["kind"], action["target"], action["status"], action["read_back"]) == (
                "method", bound["reset_fault"], "confirmed", 0)
            assert len(_calls(robot, "ResetFault")) == 1
            assert robot.value("fault_code") == 0
            # approving again changes nothing: the decision is taken once, the method ran once
            again = cli(home, "runs", "approve", rid, "--by", "lee")
            assert again.returncode == 1
            assert (await _call(client, "get_action_status", {"request_id": rid}))["status"] == "done"
            assert len(_calls(robot, "ResetFault")) == 1
    finally:
        robot.clear_faults()

    with Ledger(home / "ledger.sqlite") as ledger:
        [proposal] = [r.payload for r in ledger.records(run_id=rid, kind="proposal")]
        assert proposal["request"]["kind"] == "method"
        assert [r.payload["by"] for r in ledger.records(run_id=rid, kind="approval")] == ["최수연"]
        [readback] = [r.payload for r in ledger.records(run_id=rid, kind="read-back")]
        assert readback["target"] == bound["reset_fault"]
        assert readback["status"] == "done"
        assert readback["expected"] == {bound["fault_code"]: 0}  # the role's confirm, not the client's word
        assert readback["read"] == 0
        refusals = [r.payload for r in ledger.records(kind="refusal")]
        assert [r["target"] for r in refusals] == ["ns=2;s=robotics.cell-01.robot-01.Shutdown"]


async def _settled(client: Client, rid: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    status = await _call(client, "get_action_status", {"request_id": rid})
    while status["status"] in ("pending_approval", "approved", "running") and time.monotonic() < deadline:
        status = await _call(client, "get_action_status", {"request_id": rid})
    return status


async def test_method_with_an_argument_is_done_only_after_the_roles_read_back(
        tmp_path: Path, robot: PlantHandle) -> None:
    """``set_speed_override(80)`` over MCP: the read-back is the role's ``confirm_args`` (speed_override = the
    call's percent), the same rule the agent's playbooks use; 30 is refused by the guard and never sent; a plant
    whose read-back tag does not follow the call ends ``failed``/``unconfirmed``, never ``done``."""
    home = tmp_path / "home"
    path, bound = _bindings(tmp_path, robot)
    params = StdioServerParameters(command=EXE, args=["mcp", "--pilot", "robotics", "--company", "daegu-robotics",
                                                      "--endpoint", robot.endpoint, "--bindings", str(path),
                                                      "--allow-propose", PILOT], env=env_for(home))
    _wait(lambda: robot.value("speed_override") == 100, "the override does not start at 100")
    try:
        async with Client(params) as client:
            before = list(robot.method_log)
            refused = await _call(client, "propose_action", {"kind": "method", "target": "set_speed_override",
                                                             "args": [30], "reason": "slow down hard"})
            assert refused["status"] == "refused", refused
            assert refused["request_id"] is None
            assert any("percent" in r for r in refused["reasons"]), refused["reasons"]
            assert robot.method_log == before
            assert robot.value("speed_override") == 100

            pending = await _call(client, "propose_action", {"kind": "method", "target": "set_speed_override",
                                                             "args": [80], "reason": "restart at 80 % (5.2)"})
            assert pending["status"] == "pending_approval", pending
            ok = pending["request_id"]
            approved = cli(home, "runs", "approve", ok, "--by", "최수연")
            assert approved.returncode == 0, approved.stdout + approved.stderr
            status = await _settled(client, ok)
            assert status["status"] == "done", status
            [action] = status["actions"]
            assert (action["target"], action["status"], action["read_back"]) == (
                bound["set_speed_override"], "confirmed", 80)
            assert robot.value("speed_override") == 80
            assert [c[2] for c in _calls(robot, "SetSpeedOverride")] == [(80.0,)]

    finally:
        robot.clear_faults()

    # a plant whose read-back tag does not follow the call (here: the override role bound to a tag the setter
    # does not change): 90 is sent, the read-back does not read 90, so the call is never ``done``
    wrong = dict(bound, speed_override=bound["joint2_temperature"])
    path.write_text(yaml.safe_dump(wrong, allow_unicode=True), encoding="utf-8")
    async with Client(params) as client:
        pending = await _call(client, "propose_action", {"kind": "method", "target": "set_speed_override",
                                                         "args": [90], "reason": "back up to 90 %"})
        stuck = pending["request_id"]
        approved = cli(home, "runs", "approve", stuck, "--by", "최수연")
        assert approved.returncode == 0, approved.stdout + approved.stderr
        status = await _settled(client, stuck)
        assert status["status"] in ("failed", "unconfirmed"), status
        assert status["actions"][0]["status"] in ("failed", "unconfirmed")
    assert [c[2] for c in _calls(robot, "SetSpeedOverride")] == [(80.0,), (90.0,)]
    assert robot.value("speed_override") == 90

    with Ledger(home / "ledger.sqlite") as ledger:
        [readback] = [r.payload for r in ledger.records(run_id=ok, kind="read-back")]
        assert readback["status"] == "done"
        assert readback["expected"] == {bound["speed_override"]: 80}  # the role's confirm_args, not the client's
        assert readback["read"] == 80
        [failed] = [r.payload for r in ledger.records(run_id=stuck, kind="read-back")]
        assert failed["expected"] == {bound["joint2_temperature"]: 90}
        assert failed["read"] != 90
        assert failed["status"] != "done"
        refusals = [r.payload for r in ledger.records(kind="refusal")]
        assert [r["target"] for r in refusals] == [bound["set_speed_override"]]
