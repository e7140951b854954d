"""MCP ``propose_action`` for plant alarms: acknowledge/confirm go through the pilot's guard (its ``alarms:``
rules), a named person's approval, the write-ahead intent and the AckedState read-back — the same path as
``factorypilot alarms ack``. A refused or rejected acknowledgement never reaches the plant (checked on the
simulator's own condition state and its count of Acknowledge calls)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from mcp import Client

from factorypilot.agents._external import apply_decided
from factorypilot.mcp import PilotTarget, build_server, open_deployment
from factorypilot.pilots.runtime import reference_pilots
from factorypilot.pilots.simulator import Fault, FaultKind, PlantHandle, running_plant


@pytest.fixture
def alarm_plant(request: pytest.FixtureRequest) -> Iterator[tuple[PlantHandle, str]]:
    code = getattr(request, "param", 2101)  # 2101: severity 700 (the mobility policy may ack ≤ 800)
    with running_plant(model="mobility", realtime=False) as handle:
        handle.inject(Fault(FaultKind.ALARM, magnitude=code))
        handle.step(1)
        yield handle, handle.node_id("alarm_active") + ".Condition"


def _target(plant: PlantHandle) -> PilotTarget:
    spec = yaml.safe_load(reference_pilots()["mobility"].read_text(encoding="utf-8"))
    return PilotTarget("mobility", endpoint=plant.endpoint,
                       bindings={r: t for r, t in plant.roles().items() if r in spec["roles"]})


async def _call(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def _apply(dep: Any) -> None:
    for p in dep.pilots.values():
        await apply_decided(p.runtime, dep.is_proposal)


async def test_approved_acknowledge_is_sent_once_and_read_back(tmp_path: Path,
                                                               alarm_plant: tuple[PlantHandle, str]) -> None:
    plant, cid = alarm_plant
    async with open_deployment([_target(plant)], home=tmp_path, stdio_propose=["mobility-cnc"]) as dep, \
            Client(build_server(dep)) as client:
        pending = await _call(client, "propose_action", {"kind": "acknowledge", "target": cid,
                                                         "value": "정비 통보 / maintenance told",
                                                         "reason": "lubrication checked"})
        assert pending["status"] == "pending_approval", pending
        rid = pending["request_id"]
        assert plant.alarm_calls == 0  # nothing before a person approves
        rt = dep.pilots["mobility-cnc"].runtime
        rt.store.decide(rid, "approve", "김민수")
        for _ in range(2):  # applied twice: acknowledged once
            await _apply(dep)
        status = await _call(client, "get_action_status", {"request_id": rid})
        assert status["status"] == "done", status
        assert plant.alarm_calls == 1
        acked, confirmed, comments = plant.alarm_acks()[cid]
        assert (acked, confirmed) == (True, True)
        assert comments == [("acknowledge", "정비 통보 / maintenance told")]
        [read] = [r.payload for r in rt.ledger.records(run_id=rid, kind="read-back")]
        assert read["status"] == "done"
        assert read["expected"] == {f"{cid}/AckedState/Id": True}
        [proposal] = [r.payload for r in rt.ledger.records(run_id=rid, kind="proposal")]
        assert proposal["request"]["kind"] == "acknowledge"
        assert proposal["request"]["severity"] == 700  # read from the plant, not given by the client
        assert len(proposal["request"]["args"]) == 1  # the plant's EventId of the main branch


@pytest.mark.parametrize("alarm_plant", [1203], indirect=True)  # severity 900: above the policy's 800
async def test_acknowledge_refused_by_policy_never_reaches_the_plant(tmp_path: Path,
                                                                    alarm_plant: tuple[PlantHandle, str]) -> None:
    plant, cid = alarm_plant
    async with open_deployment([_target(plant)], home=tmp_path, stdio_propose=["mobility-cnc"]) as dep, \
            Client(build_server(dep)) as client:
        refused = await _call(client, "propose_action", {"kind": "acknowledge", "target": cid, "value": "확인",
                                                         "reason": "clear it"})
        assert refused["status"] == "refused"
        assert refused["request_id"] is None
        assert any("900" in r for r in refused["reasons"]), refused["reasons"]
        await _apply(dep)
    assert plant.alarm_calls == 0
    assert plant.alarm_acks()[cid][0] is False  # still unacknowledged at the plant


async def test_rejected_acknowledge_never_reaches_the_plant(tmp_path: Path,
                                                            alarm_plant: tuple[PlantHandle, str]) -> None:
    plant, cid = alarm_plant
    async with open_deployment([_target(plant)], home=tmp_path, stdio_propose=["mobility-cnc"]) as dep, \
            Client(build_server(dep)) as client:
        pending = await _call(client, "propose_action", {"kind": "acknowledge", "target": cid, "value": "확인",
                                                         "reason": "clear it"})
        rid = pending["request_id"]
        dep.pilots["mobility-cnc"].runtime.store.decide(rid, "reject", "이영희", comment="현장 확인 먼저")
        await _apply(dep)
        status = await _call(client, "get_action_status", {"request_id": rid})
        assert status["status"] == "rejected"
    assert plant.alarm_calls == 0
    assert plant.alarm_acks()[cid][0] is False


async def test_acknowledge_takes_its_event_id_from_the_plant_only(tmp_path: Path,
                                                                  alarm_plant: tuple[PlantHandle, str]) -> None:
    plant, cid = alarm_plant
    async with open_deployment([_target(plant)], home=tmp_path, stdio_propose=["mobility-cnc"]) as dep, \
            Client(build_server(dep)) as client:
        given = await client.call_tool("propose_action", {"kind": "acknowledge", "target": cid, "value": "x",
                                                          "reason": "r", "args": ["00ff"]})
        assert given.is_error
        assert "EventId is read from the plant" in str(given.content)
        unknown = await client.call_tool("propose_action", {"kind": "acknowledge", "target": cid + "X",
                                                            "value": "x", "reason": "r"})
        assert unknown.is_error
    assert plant.alarm_calls == 0
