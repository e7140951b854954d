"""Acknowledging / confirming a plant alarm: only through the guard, a named person's approval, the ledger and a
read-back of AckedState — against the simulator's real OPC UA conditions (Acknowledge/Confirm methods)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from factorypilot.agents import AgentRuntime
from factorypilot.agents._external import propose
from factorypilot.agents.safety import AlarmRule
from factorypilot.connectors.opcua import OpcUaConnector
from factorypilot.pilots.runtime import resolve_spec
from factorypilot.pilots.simulator import Fault, FaultKind, PlantSimulator
from factorypilot.vocabulary import ActionKind, ActionRequest, AlarmEvent

PROPOSER = {"client": "cli:김민수", "by": "김민수", "transport": "cli"}


@contextlib.asynccontextmanager
async def _pilot(tmp_path: Path, *, rules: list[AlarmRule] | None = None, needs_confirm: bool = False
                 ) -> AsyncIterator[tuple[PlantSimulator, Any, AgentRuntime, str]]:
    spec, _ = resolve_spec("mobility")
    if rules is not None:
        spec = spec.model_copy(update={"policy": spec.policy.model_copy(update={"alarms": rules})})
    async with PlantSimulator("mobility", realtime=False) as sim:
        sim.alarms.needs_confirm = needs_confirm
        sim.inject(Fault(FaultKind.ALARM, magnitude=2101))  # severity 700
        await sim.step(1)
        cid = sim.node_id("alarm_active") + ".Condition"
        cfg = OpcUaConnector.Config(endpoint=sim.endpoint, timeout_s=3)
        config = spec.agent_config(spec.simulator_bindings(sim.roles(), sim.method_ids()))
        async with OpcUaConnector(cfg) as c, AgentRuntime(config, c, home=tmp_path, lease=False) as rt:
            yield sim, c, rt, cid


def _request(alarm: AlarmEvent, kind: ActionKind = ActionKind.ACKNOWLEDGE,
             comment: str = "공구 교체 예정 / tool change planned") -> ActionRequest:
    return ActionRequest(kind=kind, target=alarm.condition_id, args=(alarm.event_id,), value=comment,
                         object_id=alarm.source_node, severity=alarm.severity, reason=comment,
                         requested_by="cli:김민수")


def _kinds(rt: AgentRuntime, run_id: str) -> list[tuple[str, str]]:
    return [(r.kind, str(r.payload.get("status", ""))) for r in rt.ledger.records(run_id=run_id)]


async def test_approved_acknowledge_reaches_the_plant_once_and_is_read_back(tmp_path: Path) -> None:
    async with _pilot(tmp_path) as (sim, c, rt, cid):
        alarm = await c.alarm_state(cid)
        assert alarm is not None
        assert alarm.active
        assert not alarm.acked
        assert alarm.severity == 700
        proposal = await propose(rt, _request(alarm), proposer=PROPOSER)
        assert proposal.status == "pending_approval", proposal.reasons
        assert sim.alarms.calls == 0  # nothing reaches the plant before a person approves
        run_id = proposal.request_id
        assert run_id is not None
        out = await rt.resume(run_id, "approve", by="이영희", comment="확인")
        assert out.status == "done"
        assert out.report is not None
        [result] = out.report["results"]
        assert result["status"] == "done"
        assert result["read_back"]["tag_id"] == f"{cid}/AckedState/Id"
        assert result["read_back"]["value"] is True
        # the plant: acknowledged once, with the comment, by the OPC UA method; the alarm is still active
        cond = sim.alarms.by_condition_id(cid)
        assert cond is not None
        assert (cond.acked, cond.active, sim.alarms.calls) == (True, True, 1)
        assert cond.comments == [("acknowledge", "공구 교체 예정 / tool change planned")]
        after = await c.alarm_state(cid)
        assert after is not None
        assert after.acked
        assert after.active
        # the ledger: proposal, approval by a named person, write-ahead intent, the call, the read-back
        kinds = _kinds(rt, run_id)
        assert ("approval", "") in kinds
        assert [k for k in kinds if k[0] in ("intent", "action", "read-back")] == [
            ("intent", "planned"), ("intent", "issued"), ("action", "executed"), ("read-back", "done")]
        approval = next(r for r in rt.ledger.records(run_id=run_id) if r.kind == "approval")
        assert approval.payload["by"] == "이영희"
        assert rt.ledger.verify().ok
        # applying the same decision again (a replayed node) never calls the plant a second time
        again = await rt._apply(run_id)
        assert again.status == "done"
        assert sim.alarms.calls == 1
        assert [a.state for a in rt.store.actions_for(run_id)] == ["confirmed"]


@pytest.mark.parametrize(("rules", "why"), [
    ([], "not allow-listed"),
    ([AlarmRule(source="*", max_severity=600)], "not allow-listed"),
    ([AlarmRule(source="ns=9;s=Other*")], "not allow-listed"),
])
async def test_acknowledge_refused_by_the_policy_never_reaches_the_plant(tmp_path: Path, rules: list[AlarmRule],
                                                                         why: str) -> None:
    async with _pilot(tmp_path, rules=rules) as (sim, c, rt, cid):
        alarm = await c.alarm_state(cid)
        assert alarm is not None
        proposal = await propose(rt, _request(alarm), proposer=PROPOSER)
        assert proposal.status == "refused"
        assert why in proposal.reasons[-1]
        assert "severity 700" in proposal.reasons[-1]
        assert sim.alarms.calls == 0
        cond = sim.alarms.by_condition_id(cid)
        assert cond is not None
        assert not cond.acked
        refusal = [r for r in rt.ledger.records() if r.kind == "refusal"]
        assert refusal
        assert refusal[-1].payload["kind"] == "acknowledge"


async def test_rejected_or_overtaken_acknowledge_is_not_sent(tmp_path: Path) -> None:
    async with _pilot(tmp_path) as (sim, c, rt, cid):
        alarm = await c.alarm_state(cid)
        assert alarm is not None
        rejected = await propose(rt, _request(alarm), proposer=PROPOSER)
        assert rejected.request_id is not None
        out = await rt.resume(rejected.request_id, "reject", by="이영희", comment="not now")
        assert [r["status"] for r in (out.report or {})["results"]] == ["rejected"]
        assert sim.alarms.calls == 0
        # approved, but an operator acknowledged it at the HMI first: refused at act time, not sent
        second = await propose(rt, _request(alarm), proposer=PROPOSER)
        assert second.request_id is not None
        assert await sim.alarms.acknowledge(cid, "HMI") is True
        out = await rt.resume(second.request_id, "approve", by="이영희")
        [result] = (out.report or {})["results"]
        assert result["status"] == "refused"
        assert "already acknowledged at the plant" in result["reason"]
        assert sim.alarms.calls == 0


async def test_alarm_that_changed_since_the_proposal_is_not_acknowledged(tmp_path: Path) -> None:
    async with _pilot(tmp_path) as (sim, c, rt, cid):
        alarm = await c.alarm_state(cid)
        assert alarm is not None
        proposal = await propose(rt, _request(alarm), proposer=PROPOSER)
        assert proposal.request_id is not None
        sim.clear_faults()
        await sim.step(1)  # back to normal, still unacknowledged: a new EventId
        out = await rt.resume(proposal.request_id, "approve", by="이영희")
        [result] = (out.report or {})["results"]
        assert result["status"] == "refused"
        assert "changed since" in result["reason"]
        assert sim.alarms.calls == 0


async def test_confirm_after_acknowledge_and_read_back(tmp_path: Path) -> None:
    rules = [AlarmRule(source="ns=2;s=mobility.*", confirm=True, approval="always")]
    async with _pilot(tmp_path, rules=rules, needs_confirm=True) as (sim, c, rt, cid):
        alarm = await c.alarm_state(cid)
        assert alarm is not None
        assert not alarm.confirmed
        early = await propose(rt, _request(alarm, ActionKind.CONFIRM), proposer=PROPOSER)
        assert early.request_id is not None
        out = await rt.resume(early.request_id, "approve", by="이영희")
        assert "cannot be confirmed before" in (out.report or {})["results"][0]["reason"]
        for kind in (ActionKind.ACKNOWLEDGE, ActionKind.CONFIRM):
            alarm = await c.alarm_state(cid)
            assert alarm is not None
            p = await propose(rt, _request(alarm, kind, comment=f"{kind.value} 완료"), proposer=PROPOSER)
            assert p.request_id is not None
            out = await rt.resume(p.request_id, "approve", by="이영희")
            [result] = (out.report or {})["results"]
            assert result["status"] == "done", result
            field = "ConfirmedState" if kind is ActionKind.CONFIRM else "AckedState"
            assert result["read_back"]["tag_id"] == f"{cid}/{field}/Id"
        cond = sim.alarms.by_condition_id(cid)
        assert cond is not None
        assert cond.acked
        assert cond.confirmed
        assert [m for m, _ in cond.comments] == ["acknowledge", "confirm"]
        assert sim.alarms.calls == 2
