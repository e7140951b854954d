"""The MCP server beside a running pilot service (``factorypilot pilot run``) on the same home and plant.

The service owns the pilot (its lease); the MCP server only starts the proposal's run. After a named person
approves it from the CLI, the service applies the decision — the MCP server never takes the lease while the
service holds it — and the plant sees the write exactly once; the client reads ``done`` after the read-back.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from factorypilot.agents import Ledger
from factorypilot.pilots.simulator import PlantHandle

from .conftest import EXE, bindings_file, cli, env_for


def _leases(home: Path) -> list[tuple[Any, ...]]:
    if not (home / "agent.sqlite").exists():
        return []
    db = sqlite3.connect(home / "agent.sqlite")
    try:
        return db.execute("SELECT pilot, pid FROM leases").fetchall()
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        db.close()


@pytest.fixture
def service(tmp_path: Path, plant: PlantHandle) -> Iterator[tuple[Path, Path, subprocess.Popen[str]]]:
    home = tmp_path / "home"
    bindings = bindings_file(tmp_path, plant)
    proc = subprocess.Popen([EXE, "pilot", "run", "mobility", "--endpoint", plant.endpoint, "--bindings",
                             str(bindings), "--no-knowledge", "--seconds", "240"], env=env_for(home),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while ("mobility-cnc", proc.pid) not in _leases(home):  # the service owns the pilot
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the pilot service never took its lease"
            time.sleep(0.1)
        yield home, bindings, proc
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


async def _call(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


@pytest.mark.slow
async def test_the_pilot_service_applies_an_mcp_proposal_once(
        service: tuple[Path, Path, subprocess.Popen[str]], plant: PlantHandle) -> None:
    home, bindings, proc = service
    params = StdioServerParameters(command=EXE, args=["mcp", "--pilot", "mobility", "--endpoint", plant.endpoint,
                                                      "--bindings", str(bindings), "--allow-propose", "mobility-cnc"],
                                   env=env_for(home))
    async with Client(params) as client:
        current = (await _call(client, "read_values", {"tags": ["feed_override"]}))["values"][0]["value"]
        target = current - 5 if current - 5 >= 60 else current + 5
        writes = list(plant.write_log)
        pending = await _call(client, "propose_action", {"target": "feed_override", "value": target,
                                                         "reason": "beside the service"})
        assert pending["status"] == "pending_approval", pending
        rid = pending["request_id"]
        approved = cli(home, "runs", "approve", rid, "--by", "김민수")
        assert approved.returncode == 0, approved.stdout + approved.stderr
        deadline = time.monotonic() + 90
        status = await _call(client, "get_action_status", {"request_id": rid})
        while status["status"] in ("pending_approval", "approved", "running") and time.monotonic() < deadline:
            assert ("mobility-cnc", proc.pid) in _leases(home)  # the MCP server never took the pilot over
            status = await _call(client, "get_action_status", {"request_id": rid})
        assert status["status"] == "done", status
        assert status["actions"][0]["read_back"] == target
    assert ("mobility-cnc", proc.pid) in _leases(home)
    assert [(role, v) for _, role, v in plant.write_log[len(writes):] if role == "feed_override"] == [
        ("feed_override", target)]
    with Ledger(home / "ledger.sqlite") as ledger:
        assert [r.payload["status"] for r in ledger.records(run_id=rid, kind="read-back")] == ["done"]
        assert [r.payload["by"] for r in ledger.records(run_id=rid, kind="approval")] == ["김민수"]
        assert ledger.verify().ok
