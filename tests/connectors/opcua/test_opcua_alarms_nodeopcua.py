"""The A&C client against a second OPC UA stack: node-opcua raising a real AlarmConditionType condition (with
Confirm). An alarm active before we connect arrives through ConditionRefresh; a new state and its return to
normal; a reconnect during an active alarm (a Gap, no duplicate, and events flow again: the outage is real —
the script's ``drop`` interrupts the client's channel — and the test waits on the client's state, not on
sleeps); acknowledge/confirm through the guard, a person's approval and a read-back; a refused acknowledge
never reaches the server (checked on the server's own state); the CLI lists the alarm with its Korean text and
reads the history node-opcua stored."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from factorypilot.agents import AgentConfig, AgentRuntime
from factorypilot.agents._external import propose
from factorypilot.agents.safety import AlarmRule, SafetyPolicy
from factorypilot.connectors.opcua import OpcUaConnector
from factorypilot.pilots.spreading._plants import free_port, node_modules
from factorypilot.vocabulary import ActionKind, ActionRequest, AlarmEvent

SCRIPT = Path(__file__).with_name("nodeopcua_alarms.js")
CONDITION_SUFFIX = ";s=PressLine1.LubeAlarm"
TEXT = "윤활 압력 저하 (코드 2201)"


class NodePlant:
    def __init__(self, proc: subprocess.Popen[str], endpoint: str) -> None:
        self.proc, self.endpoint = proc, endpoint

    def command(self, line: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        while True:
            out = self.proc.stdout.readline()
            if not out:
                raise RuntimeError("the node-opcua plant ended")
            if out.startswith("{"):
                state: dict[str, Any] = json.loads(out)
                assert state["ok"], state.get("error")
                return state


@pytest.fixture
def plant() -> Iterator[NodePlant]:
    node, modules = shutil.which("node"), node_modules()
    if node is None or modules is None:
        pytest.skip("node or node-opcua is not installed: bash .ci/run installs node-opcua into ~/.cache/factorypilot")
    port = free_port()
    proc = subprocess.Popen([node, str(SCRIPT), str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env={**os.environ, "NODE_PATH": str(modules)})
    try:
        assert proc.stdout is not None
        line = ""
        while not line.startswith("READY"):
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("the node-opcua alarm plant did not start")
        yield NodePlant(proc, line.split()[1])
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()


def _cfg(endpoint: str) -> OpcUaConnector.Config:
    return OpcUaConnector.Config(endpoint=endpoint, timeout_s=5)


async def _next_alarm(stream: Any, timeout_s: float = 20) -> AlarmEvent:
    while True:
        item = await asyncio.wait_for(anext(stream), timeout_s)
        if isinstance(item, AlarmEvent):
            return item


async def test_alarm_before_connect_arrives_refreshed_then_its_return_to_normal(plant: NodePlant) -> None:
    plant.command("raise 2201 600 윤활 압력 저하")
    async with OpcUaConnector(_cfg(plant.endpoint)) as c, contextlib.aclosing(c.events()) as stream:
        first = await _next_alarm(stream)
        assert first.refreshed
        assert first.condition_id.endswith(CONDITION_SUFFIX)
        assert (first.active, first.acked, first.confirmed, first.retain) == (True, False, False, True)
        assert first.message == TEXT
        assert first.message_locale == "ko-KR"
        assert first.severity == 600
        assert first.event_type == "AlarmConditionType"
        assert first.event_id
        await asyncio.to_thread(plant.command, "clear")
        back = await _next_alarm(stream)
        assert back.condition_id == first.condition_id
        assert not back.active
        assert not back.refreshed
        assert back.retain  # not acknowledged yet


def _agent(endpoint: str, rules: list[AlarmRule]) -> AgentConfig:
    return AgentConfig(name="node-plant", roles={"oil_pressure": "ns=2;s=PressLine1.OilPressure"},
                       policy=SafetyPolicy(name="p", alarms=rules),
                       verify={"attempts": 10, "interval_s": 0.2})  # type: ignore[arg-type]


def _request(alarm: AlarmEvent, kind: ActionKind, comment: str) -> ActionRequest:
    return ActionRequest(kind=kind, target=alarm.condition_id, args=(alarm.event_id,), value=comment,
                         object_id=alarm.source_node, severity=alarm.severity, reason=comment)


async def test_acknowledge_and_confirm_with_approval_and_read_back(plant: NodePlant, tmp_path: Path) -> None:
    plant.command("raise 2201 600 윤활 압력 저하")
    rules = [AlarmRule(source="ns=2;s=PressLine1", max_severity=700, confirm=True)]
    async with OpcUaConnector(_cfg(plant.endpoint)) as c, \
            AgentRuntime(_agent(plant.endpoint, rules), c, home=tmp_path, lease=False) as rt:
        for kind, comment in ((ActionKind.ACKNOWLEDGE, "정비 통보"), (ActionKind.CONFIRM, "윤활 펌프 교체 완료")):
            alarm = await c.alarm_state("ns=2" + CONDITION_SUFFIX)
            assert alarm is not None
            assert alarm.source_node == "ns=2;s=PressLine1"
            proposal = await propose(rt, _request(alarm, kind, comment), proposer={"client": "test"})
            assert proposal.status == "pending_approval", proposal.reasons
            assert proposal.request_id is not None
            out = await rt.resume(proposal.request_id, "approve", by="이영희")
            [result] = (out.report or {})["results"]
            assert result["status"] == "done", result
            assert result["read_back"]["value"] is True
        # node-opcua keeps its condition node (EventId included): the check before each call and the read-back
        # after it read the condition's variables; the test's own two reads above used ConditionRefresh
        assert dict(c.condition_reads) == {"refresh": 2, "variables": 4}
        state = await asyncio.to_thread(plant.command, "state")
        assert (state["acked"], state["confirmed"], state["calls"]) == (True, True, 2)
        assert state["comments"] == [["acknowledge", "정비 통보"], ["confirm", "윤활 펌프 교체 완료"]]


async def test_refused_acknowledge_never_reaches_the_server(plant: NodePlant, tmp_path: Path) -> None:
    plant.command("raise 2201 600 윤활 압력 저하")
    rules = [AlarmRule(source="ns=2;s=PressLine1", max_severity=500)]  # severity 600 is above it
    async with OpcUaConnector(_cfg(plant.endpoint)) as c, \
            AgentRuntime(_agent(plant.endpoint, rules), c, home=tmp_path, lease=False) as rt:
        alarm = await c.alarm_state("ns=2" + CONDITION_SUFFIX)
        assert alarm is not None
        proposal = await propose(rt, _request(alarm, ActionKind.ACKNOWLEDGE, "x"), proposer={"client": "test"})
        assert proposal.status == "refused"
        assert "not allow-listed" in proposal.reasons[-1]
    state = plant.command("state")
    assert (state["acked"], state["calls"]) == (False, 0)


def test_cli_lists_the_alarm_with_its_korean_text(plant: NodePlant) -> None:
    plant.command("raise 2201 600 윤활 압력 저하")
    exe = Path(sys.executable).with_name("factorypilot")
    done = subprocess.run([str(exe), "connect", "alarms", plant.endpoint, "--refresh", "--seconds", "3"],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert TEXT in done.stdout
    assert "PressLine1.LubeAlarm" in done.stdout


def test_cli_history_reads_what_node_opcua_stored_with_its_timestamps(plant: NodePlant, tmp_path: Path) -> None:
    import csv
    from datetime import datetime, timedelta

    stored = [(v, datetime.fromisoformat(plant.command(f"set {v}")["time"].replace("Z", "+00:00")))
              for v in (5.1, 4.7, 3.9)]
    exe = Path(sys.executable).with_name("factorypilot")
    out = tmp_path / "pressure.csv"
    start, end = stored[0][1] - timedelta(seconds=5), stored[-1][1] + timedelta(seconds=5)
    done = subprocess.run([str(exe), "connect", "history", plant.endpoint, "ns=2;s=PressLine1.OilPressure",
                           "--start", start.isoformat(), "--end", end.isoformat(), "--csv", str(out)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stdout + done.stderr
    with out.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    got = [(float(r["value"]), datetime.fromisoformat(r["source_time"])) for r in rows]
    assert got[-3:] == stored  # values and source timestamps as the server stored them (ms precision)



async def test_reconnect_during_an_active_alarm_is_a_gap_and_no_duplicate(plant: NodePlant) -> None:
    from asyncua.client.ua_client import UaClientState

    from factorypilot.vocabulary import Gap

    plant.command("raise 2201 600 윤활 압력 저하")
    cfg = OpcUaConnector.Config(endpoint=plant.endpoint, timeout_s=2, watchdog_interval_s=0.2,
                                reconnect_max_delay_s=1.0)
    async with OpcUaConnector(cfg) as c, contextlib.aclosing(c.events()) as stream:
        first = await _next_alarm(stream)
        assert first.active
        client = next(iter(c._clients.values()))
        async with client.uaclient.subscribe_state() as states:
            await asyncio.to_thread(plant.command, "drop")
            while await asyncio.wait_for(states.next_change(), 60) not in (UaClientState.DISCONNECTED,
                                                                             UaClientState.RECONNECTING):
                pass  # barrier: the client has noticed the outage
        await asyncio.to_thread(plant.command, "resume")
        gap = await asyncio.wait_for(anext(stream), 60)
        assert isinstance(gap, Gap)
        assert gap.end is not None
        # the refresh after the reconnect re-sends the active alarm: the same state is not delivered twice,
        # so the next alarm event is the return to normal
        await asyncio.to_thread(plant.command, "clear")
        after = await _next_alarm(stream)
        assert after.condition_id == first.condition_id
        assert not after.active
