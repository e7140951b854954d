"""Condition branches (BranchId not null) and the honest read-back of an alarm the server stops holding.

Server: tests/connectors/opcua/_branch_server.py (asyncua; one condition, a branch created on purpose, its own
ConditionRefresh that returns every retained branch). Checked: the client delivers main branch and branch
apart (de-duplicated by (ConditionId, BranchId)); the alarm detector fires for the branch with the branch's
EventId; acknowledging the branch through guard + approval acknowledges that branch at the server (and not
the main branch) and reads it back; an acknowledged alarm the server then forgets is ``done`` only when the
server's ack event was seen, else ``unconfirmed``.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from factorypilot.agents import AgentRuntime
from factorypilot.agents._detect_alarm import AlarmDetector, AlarmDetectorConfig
from factorypilot.agents.safety import AlarmRule
from factorypilot.connectors.opcua import OpcUaConnector

from ._ack_flow import agent_for, guarded_ack
from ._branch_server import BranchServer

BRANCH = "ns=2;s=Press.LubeAlarm.Branch1"
RULES = [AlarmRule(source="*", max_severity=800)]


async def _alarms(stream: Any, n: int) -> list[Any]:
    out: list[Any] = []
    while len(out) < n:
        item = await asyncio.wait_for(anext(stream), 20)
        if hasattr(item, "condition_id"):
            out.append(item)
    return out


async def test_branch_is_delivered_detected_and_acknowledged_apart_from_the_main_branch(tmp_path: Path) -> None:
    async with BranchServer() as srv:
        cid = srv.cid.to_string()
        await srv.emit(None, severity=600)  # the alarm, active and unacknowledged, before we connect
        async with OpcUaConnector(OpcUaConnector.Config(endpoint=srv.endpoint, timeout_s=5)) as c, \
                contextlib.aclosing(c.events()) as stream:
            [main] = await _alarms(stream, 1)
            assert (main.branch_id, main.refreshed) == (None, True)
            # the server keeps the first occurrence as a branch; the main branch goes on with a new severity
            branch_eid = (await srv.emit(BRANCH, severity=600)).event_id.hex()
            await srv.emit(None, severity=700, message="윤활 압력 매우 낮음 (코드 2202)")
            got = await _alarms(stream, 2)
            assert [(a.branch_id, a.severity) for a in got] == [(BRANCH, 600), (None, 700)]
            assert got[0].event_id == branch_eid

            det = AlarmDetector(AlarmDetectorConfig(role="oil_pressure", message="220"), "x")
            fired = [det.update_alarm(a) for a in (main, *got)]
            assert [f is not None for f in fired] == [True, True, False]  # main once, the branch once
            assert fired[1] is not None
            assert fired[1].alarm is not None
            assert (fired[1].alarm.branch_id, fired[1].alarm.event_id) == (BRANCH, branch_eid)

            async with AgentRuntime(agent_for(srv), c, home=tmp_path, lease=False) as rt:
                result = await guarded_ack(rt, cid, BRANCH)
            assert result["status"] == "done", result
            assert result["request"]["args"] == [branch_eid, BRANCH]
        assert srv.calls == 1
        assert (srv.branches[BRANCH].acked, srv.branches[BRANCH].comments) == (True, ["정비 통보"])
        assert srv.branches[None].acked is False  # the main branch is untouched


async def test_alarm_the_server_forgets_is_done_only_with_its_ack_event(tmp_path: Path) -> None:
    for silent, expected in ((False, "done"), (True, "unconfirmed")):
        async with BranchServer(forget_on_ack=True, silent=silent) as srv:
            await srv.emit(None, severity=600, active=False)  # returned to normal, waiting for acknowledgement
            async with OpcUaConnector(OpcUaConnector.Config(endpoint=srv.endpoint, timeout_s=2)) as c, \
                    AgentRuntime(agent_for(srv), c, home=tmp_path / str(silent), lease=False) as rt:
                result = await guarded_ack(rt, srv.cid.to_string())
                assert await c.alarm_state(srv.cid.to_string()) is None  # the server holds it no more
            assert srv.calls == 1
            assert result["status"] == expected, result
            if silent:
                assert "no event with AckedState/Id = true was received" in result["reason"]
            else:
                assert "server's event right after the call" in result["reason"]
