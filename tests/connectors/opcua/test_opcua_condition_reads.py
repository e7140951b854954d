"""How an alarm is read before and after a guarded acknowledgement: from the condition's own variables when they
carry the EventId the server announced (one Read), otherwise with ConditionRefresh — never from variables a
server left behind.

Servers: the simulator (keeps its condition nodes as Part 9 says, EventId included) and
tests/connectors/opcua/_branch_server.py with ``stale_node`` (its condition node says "acknowledged" with an
EventId of its own and is never updated) and ``lose_ack`` (Acknowledge answers Good and changes nothing).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from factorypilot.agents import AgentRuntime
from factorypilot.agents.safety import AlarmRule
from factorypilot.connectors.opcua import OpcUaConnector
from factorypilot.pilots.runtime import resolve_spec
from factorypilot.pilots.simulator import Fault, FaultKind, PlantSimulator

from ._ack_flow import agent_for, guarded_ack
from ._branch_server import BranchServer


async def test_simulator_ack_is_checked_and_read_back_from_the_condition_variables(tmp_path: Path) -> None:
    spec, _ = resolve_spec("mobility")
    spec = spec.model_copy(update={"policy": spec.policy.model_copy(update={"alarms": [AlarmRule(source="*")]})})
    async with PlantSimulator("mobility", realtime=False) as sim:
        sim.inject(Fault(FaultKind.ALARM, magnitude=2101))
        await sim.step(1)
        cid = sim.node_id("alarm_active") + ".Condition"
        config = spec.agent_config(spec.simulator_bindings(sim.roles(), sim.method_ids()))
        async with OpcUaConnector(OpcUaConnector.Config(endpoint=sim.endpoint, timeout_s=3)) as c:
            by_refresh = await c.alarm_state(cid)
            assert by_refresh is not None
            by_variables = await c.alarm_state(cid, known_event=by_refresh.event_id)
            assert by_variables is not None
            keys = ("condition_id", "event_id", "active", "acked", "confirmed", "retain", "severity", "message",
                    "source_node")
            assert by_variables.model_dump(include=set(keys)) == by_refresh.model_dump(include=set(keys))
            assert dict(c.condition_reads) == {"refresh": 1, "variables": 1}
            c.condition_reads.clear()
            async with AgentRuntime(config, c, home=tmp_path, lease=False) as rt:
                result = await guarded_ack(rt, cid)
            assert result["status"] == "done", result
            assert result["read_back"] == {**result["read_back"], "tag_id": f"{cid}/AckedState/Id", "value": True}
            # the proposal reads with ConditionRefresh; the check before the call and the read-back after it
            # read the condition's variables, which carry the EventIds the server announced
            assert dict(c.condition_reads) == {"refresh": 1, "variables": 2}
            cond = sim.alarms.by_condition_id(cid)
            assert cond is not None
            assert (cond.acked, sim.alarms.calls) == (True, 1)
            # a state the server never announced is not answered from the variables
            c.condition_reads.clear()
            assert await c.alarm_state(cid, known_event="00ff") is not None
            assert dict(c.condition_reads) == {"refresh": 1}


async def test_refresh_only_config_never_reads_the_variables(tmp_path: Path) -> None:
    async with PlantSimulator("mobility", realtime=False) as sim:
        sim.inject(Fault(FaultKind.ALARM, magnitude=2101))
        await sim.step(1)
        cid = sim.node_id("alarm_active") + ".Condition"
        cfg = OpcUaConnector.Config(endpoint=sim.endpoint, timeout_s=3, condition_reads="refresh")
        async with OpcUaConnector(cfg) as c:
            alarm = await c.alarm_state(cid)
            assert alarm is not None
            again = await c.alarm_state(cid, known_event=alarm.event_id)
            assert again is not None
            assert again.event_id == alarm.event_id
            assert dict(c.condition_reads) == {"refresh": 2}


@pytest.mark.parametrize("lose_ack", [False, True])
async def test_condition_variables_left_behind_are_never_trusted(tmp_path: Path, lose_ack: bool) -> None:
    """The node says "acknowledged" all along. The check before the call does not believe it (the alarm is
    sent), and the read-back asks the server: ``done`` when the server acknowledged it, ``failed`` when the
    server answered Good but lost it — never ``done`` from the node."""
    async with BranchServer(stale_node=True, lose_ack=lose_ack) as srv:
        cid = srv.cid.to_string()
        await srv.emit(None, severity=600)
        async with OpcUaConnector(OpcUaConnector.Config(endpoint=srv.endpoint, timeout_s=1)) as c, \
                AgentRuntime(agent_for(srv), c, home=tmp_path, lease=False) as rt:
            result = await guarded_ack(rt, cid)
            assert (srv.calls, srv.branches[None].acked) == (1, not lose_ack)
            assert c.condition_reads["variables"] == 0
            if lose_ack:
                assert result["status"] == "failed", result
                assert "AckedState/Id is still false" in result["reason"]
            else:
                assert result["status"] == "done", result
                assert dict(c.condition_reads) == {"refresh": 3}


async def test_a_node_that_contradicts_the_ack_event_is_asked_again_with_conditionrefresh(tmp_path: Path) -> None:
    """The node carries the EventId of the server's ack event but still says "not acknowledged": the read-back
    does not call the acknowledgement failed on that, it asks the server's retained conditions."""
    async with BranchServer(ack_not_kept=True) as srv:
        cid = srv.cid.to_string()
        await srv.emit(None, severity=600)
        async with OpcUaConnector(OpcUaConnector.Config(endpoint=srv.endpoint, timeout_s=3)) as c, \
                AgentRuntime(agent_for(srv), c, home=tmp_path, lease=False) as rt:
            result = await guarded_ack(rt, cid)
            assert result["status"] == "done", result["reason"]
            assert (srv.calls, srv.branches[None].acked) == (1, True)
            # proposal: refresh; check before the call: the node (the proposed EventId, not acknowledged);
            # read-back: the node (the ack event's EventId, "not acknowledged": a contradiction), then refresh
            assert dict(c.condition_reads) == {"refresh": 2, "variables": 2}
