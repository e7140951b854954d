"""The SDK's own client over stdio against ``factorypilot mcp`` (a subprocess) and a real simulator plant.

Reads, a document search with citations, a proposal refused by the policy (nothing reaches the plant), and a
proposal approved from the CLI by a named person that changes the simulator exactly once and reports ``done``
only after read-back — with every call on the ledger.
"""

from __future__ import annotations

import asyncio
import getpass
import time
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.client.stdio import StdioServerParameters

from factorypilot.agents import Ledger
from factorypilot.knowledge import KnowledgeStore
from factorypilot.pilots.runtime import reference_pilots
from factorypilot.pilots.simulator import Fault, FaultKind, PlantHandle

from .conftest import EXE, bindings_file, cli, env_for


def _params(home: Path, plant: PlantHandle, tmp_path: Path, *extra: str) -> StdioServerParameters:
    return StdioServerParameters(command=EXE, args=["mcp", "--pilot", "mobility", "--company", "acme",
                                                    "--endpoint", plant.endpoint, "--bindings",
                                                    str(bindings_file(tmp_path, plant)), *extra],
                                 env=env_for(home))


async def _call(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def _wait_status(client: Client, request_id: str, until: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60.0
    while True:
        status = await _call(client, "get_action_status", {"request_id": request_id})
        if status["status"] in until or time.monotonic() > deadline:
            return status


def _feed_writes(plant: PlantHandle) -> list[Any]:
    return [v for _, role, v in plant.write_log if role == "feed_override"]


async def test_reads_search_refusal_and_approved_proposal_over_stdio(tmp_path: Path, plant: PlantHandle) -> None:
    home = tmp_path / "home"
    with KnowledgeStore.open("acme", home=home) as store:
        store.ingest(reference_pilots()["mobility"].parent / "knowledge")
    async with Client(_params(home, plant, tmp_path, "--allow-propose", "mobility-cnc")) as client:
        tags = await _call(client, "list_tags", {})
        assert tags["company"] == "acme"
        feed = next(t for t in tags["tags"] if t["role"] == "feed_override")
        assert feed["tag_id"] == plant.node_id("feed_override")
        assert feed["unit"] == "%"
        assert (feed["write_rule"]["min"], feed["write_rule"]["max"], feed["write_rule"]["max_step"]) == (60, 110, 20)
        assert feed["name"]["kind"] == "untrusted-data"

        values = await _call(client, "read_values", {"tags": ["feed_override", "machine_state"]})
        by_role = {v["role"]: v for v in values["values"]}
        current = by_role["feed_override"]["value"]
        assert current == plant.value("feed_override")
        assert by_role["machine_state"]["value"] is None  # a string comes as untrusted data, not as a value
        assert by_role["machine_state"]["text"] == {"kind": "untrusted-data", "text": plant.value("machine_state"),
                                                    "truncated": False}

        history = await _call(client, "read_history", {"tag": "spindle_vibration", "minutes": 10})
        assert history["tag_id"] == plant.node_id("spindle_vibration")
        assert history["points"], "the simulator historizes its signals"

        docs = await _call(client, "search_documents", {"query": "주축 진동이 높을 때 이송 오버라이드 조치", "k": 3})
        assert docs["company"] == "acme"
        assert docs["hits"]
        assert {h["citation"]["file"] for h in docs["hits"]} <= {"cnc-sop-m07.md", "cnc-sop-m07.ko.md"}
        assert all(h["excerpt"]["kind"] == "untrusted-data" and h["citation"]["chunk_id"] for h in docs["hits"])

        # out of range: refused with the policy's reasons, nothing reaches the plant, no run is created
        writes_before = _feed_writes(plant)
        refused = await _call(client, "propose_action", {"target": "feed_override", "value": 150,
                                                         "reason": "try a high feed"})
        assert refused["status"] == "refused"
        assert refused["request_id"] is None
        assert any("above allowed maximum 110" in r for r in refused["reasons"])
        assert (await _call(client, "list_runs", {}))["runs"] == []

        # in range: pending until a named person approves it from the CLI; then exactly one write, read back
        target = current - 10
        pending = await _call(client, "propose_action", {"target": "feed_override", "value": target,
                                                         "reason": "vibration high: reduce cutting load"})
        assert pending["status"] == "pending_approval"
        rid = pending["request_id"]
        assert (await _call(client, "get_action_status", {"request_id": rid}))["status"] == "pending_approval"
        assert _feed_writes(plant) == writes_before
        approved = cli(home, "runs", "approve", rid, "--by", "김민수")
        assert approved.returncode == 0, approved.stdout + approved.stderr
        status = await _wait_status(client, rid, {"done", "failed", "unconfirmed", "refused", "rejected"})
        assert status["status"] == "done", status
        assert status["decided_by"] == "김민수"
        [action] = status["actions"]
        assert (action["status"], action["value"], action["read_back"]) == ("confirmed", target, target)
        assert _feed_writes(plant) == [*writes_before, target]
        assert plant.value("feed_override") == target
        again = cli(home, "runs", "approve", rid, "--by", "lee")
        assert again.returncode == 1
        assert "already approved by 김민수" in again.stderr
        assert (await _call(client, "get_action_status", {"request_id": rid}))["status"] == "done"
        assert _feed_writes(plant) == [*writes_before, target]
        run = await _call(client, "get_run", {"run_id": rid})
        assert run["run"]["status"] == "done"
        assert run["approval"]["decided_by"] == "김민수"
        check = await _call(client, "verify_ledger", {})
        assert check["ok"], check["problems"]

    with Ledger(home / "ledger.sqlite") as ledger:
        calls = [r.payload for r in ledger.records(kind="mcp-call")]
        assert {c["client"] for c in calls} == {f"local:{getpass.getuser()}"}
        assert {c["transport"] for c in calls} == {"stdio"}
        tools = [c["tool"] for c in calls]
        assert tools.count("propose_action") == 2
        assert {"list_tags", "read_values", "read_history", "search_documents", "get_action_status"} <= set(tools)
        [proposal] = [r.payload for r in ledger.records(kind="proposal")]
        assert proposal["proposed_by"]["client"] == f"local:{getpass.getuser()}"
        refusals = [r.payload for r in ledger.records(kind="refusal")]
        assert any(r.get("proposed_by", {}).get("client") for r in refusals)
        assert [r.payload["by"] for r in ledger.records(run_id=rid, kind="approval")] == ["김민수"]
        [readback] = [r.payload for r in ledger.records(run_id=rid, kind="read-back")]
        assert readback["status"] == "done"
        assert readback["read"] == target


async def test_stdio_is_read_only_unless_allowed(tmp_path: Path, plant: PlantHandle) -> None:
    home = tmp_path / "home"
    async with Client(_params(home, plant, tmp_path)) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert not {n for n in names if any(w in n for w in ("approve", "reject", "decide"))}
        writes_before = _feed_writes(plant)
        result = await client.call_tool("propose_action", {"target": "feed_override", "value": 95,
                                                           "reason": "test"})
        assert result.is_error
        assert "read-only access to pilot 'mobility-cnc'" in str(result.content[0])
        assert "'mobility-cnc' 파일럿을 읽기만 할 수 있습니다" in str(result.content[0])
        assert "--allow-propose mobility-cnc" in str(result.content[0])
        assert (await _call(client, "list_runs", {}))["runs"] == []
        assert _feed_writes(plant) == writes_before


async def test_company_alone_serves_its_documents_and_no_plant(tmp_path: Path) -> None:
    """``factorypilot mcp --company ID`` without ``--pilot``: that company's documents, nothing of any plant."""
    home = tmp_path / "home"
    missing = cli(home, "mcp", "--company", "acme")  # no documents yet: refuses to start, says what to do
    assert missing.returncode == 1
    assert "company 'acme' has no documents yet" in missing.stderr
    assert "factorypilot knowledge ingest DOCS --company acme" in missing.stderr
    with KnowledgeStore.open("acme", home=home) as store:
        store.ingest(reference_pilots()["mobility"].parent / "knowledge")
    params = StdioServerParameters(command=EXE, args=["mcp", "--company", "acme"], env=env_for(home))
    async with Client(params) as client:
        docs = await _call(client, "search_documents", {"query": "주축 진동이 높을 때 이송 오버라이드 조치"})
        assert (docs["company"], docs["answerable"]) == ("acme", True)
        assert {h["citation"]["file"] for h in docs["hits"]} <= {"cnc-sop-m07.md", "cnc-sop-m07.ko.md"}
        other = await client.call_tool("search_documents", {"query": "진동", "company": "firm-b"})
        assert other.is_error
        assert "no company 'firm-b' for this client / 이 클라이언트에 'firm-b' 회사가 없습니다" in str(other.content[0])
        for tool, args in (("list_tags", {}), ("read_values", {"tags": ["feed_override"]}),
                           ("propose_action", {"target": "feed_override", "value": 90, "reason": "x"})):
            result = await client.call_tool(tool, args)
            assert result.is_error, tool
            assert "serves no pilot to this client, only the documents of acme" in str(result.content[0]), tool
            assert "이 클라이언트에 제공되는 파일럿이 없습니다 (acme 의 문서만 제공)" in str(result.content[0]), tool
        assert (await _call(client, "list_runs", {}))["runs"] == []
        assert (await _call(client, "verify_ledger", {}))["ok"]
    with Ledger(home / "ledger.sqlite") as ledger:
        outcomes = [(r.payload["tool"], r.payload["outcome"]) for r in ledger.records(kind="mcp-call")]
    assert outcomes[:2] == [("search_documents", "ok"),
                            ("search_documents", "error: no company 'firm-b' for this client "
                             "/ 이 클라이언트에 'firm-b' 회사가 없습니다")]
    assert outcomes[2][0] == "list_tags"
    assert outcomes[2][1].startswith("error: this server serves no pilot")


async def test_list_alarms_over_stdio_returns_the_active_alarm_as_untrusted_korean_text(tmp_path: Path,
                                                                                        plant: PlantHandle) -> None:
    """An alarm already active when the client connects comes back (ConditionRefresh) with the plant's own
    Korean text marked as data, and the call is on the ledger."""
    home = tmp_path / "home"
    plant.inject(Fault(FaultKind.ALARM, magnitude=2101))
    try:
        for _ in range(400):  # the realtime plant publishes it at its next tick
            if plant.value("alarm_active"):
                break
            await asyncio.sleep(0.05)
        assert plant.value("alarm_active")
        async with Client(_params(home, plant, tmp_path)) as client:
            listed = await _call(client, "list_alarms", {"seconds": 3})
    finally:
        plant.clear_faults()
    assert listed["pilot"] == "mobility-cnc"
    [alarm] = [a for a in listed["alarms"] if a["active"]]
    assert alarm["refreshed"]
    assert (alarm["severity"], alarm["event_type"]) == (700, "OffNormalAlarmType")
    assert alarm["source"] == plant.node_id("alarm_active")
    assert alarm["message"] == {"kind": "untrusted-data", "truncated": False,
                                "text": "주축 진동 과다 (코드 2101) / Spindle vibration too high (code 2101)"}
    with Ledger(home / "ledger.sqlite") as ledger:
        calls = [r.payload for r in ledger.records(kind="mcp-call")]
    assert [(c["tool"], c["outcome"], c["transport"]) for c in calls] == [("list_alarms", "ok", "stdio")]


async def test_allow_raw_node_ids_on_the_command_line_opens_other_node_ids(tmp_path: Path,
                                                                           plant: PlantHandle) -> None:
    raw = "i=2258"  # the server's CurrentTime, bound to no role
    async with Client(_params(tmp_path / "home", plant, tmp_path, "--allow-raw-node-ids")) as client:
        [value] = (await _call(client, "read_values", {"tags": [raw]}))["values"]
    assert (value["tag_id"], value["quality"]) == (raw, "good")
    async with Client(_params(tmp_path / "home", plant, tmp_path)) as client:
        refused = await client.call_tool("read_values", {"tags": [raw]})
    assert refused.is_error
    assert "has no role or bound tag 'i=2258'" in str(refused.content[0])
