"""Streamable HTTP with bearer tokens: one company per token, propose scope per token and pilot, revocation.

One server process serves two firms' pilots (mobility for firm A on the test's simulator, healthcare for firm B
on its own simulator); tokens are created and revoked with the CLI, the client is the SDK's own.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from factorypilot.agents import Ledger
from factorypilot.knowledge import KnowledgeStore
from factorypilot.mcp import TokenStore
from factorypilot.pilots.runtime import reference_pilots
from factorypilot.pilots.simulator import PlantHandle

from .conftest import EXE, bindings_file, cli, env_for, free_port


def _token(home: Path, *args: str) -> str:
    made = cli(home, "mcp", "token", "create", *args)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


@contextlib.asynccontextmanager
async def _client(url: str, token: str | None) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(60.0)) as http, \
            Client(streamable_http_client(url, http_client=http)) as client:
        yield client


@pytest.fixture
def server(tmp_path: Path, plant: PlantHandle) -> Iterator[tuple[str, Path]]:
    home = tmp_path / "home"
    for firm, pilot in (("firm-a", "mobility"), ("firm-b", "healthcare")):  # each firm's own documents
        with KnowledgeStore.open(firm, home=home) as store:
            store.ingest(reference_pilots()[pilot].parent / "knowledge")
    port = free_port()
    proc = subprocess.Popen([EXE, "mcp", "--transport", "http", "--port", str(port),
                             "--pilot", "mobility@firm-a", "--endpoint", plant.endpoint,
                             "--bindings", str(bindings_file(tmp_path, plant)),
                             "--pilot", "healthcare@firm-b", "--simulate"],
                            env=env_for(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # wait until it answers (401 without a token)
            assert proc.poll() is None, proc.communicate()[1]
            try:
                with httpx2.Client() as probe:
                    if probe.post(url, json={}).status_code == 401:
                        break
            except httpx2.TransportError:
                time.sleep(0.2)
        yield url, home
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


async def _call(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def test_tokens_scope_company_and_revocation(server: tuple[str, Path], plant: PlantHandle) -> None:
    url, home = server
    read_a = _token(home, "--company", "firm-a", "--scope", "read", "--client", "desk-a")
    with TokenStore(home / "mcp.sqlite") as tokens:  # the CLI made the first; the rest in-process (faster)
        propose_a, _ = tokens.create("firm-a", "propose", pilots=["mobility-cnc"], client="agent-a")
        read_b, _ = tokens.create("firm-b", "read", client="desk-b")
    assert "fpm_" in read_a
    assert read_a not in (home / "mcp.sqlite").read_bytes().decode("latin-1")

    with pytest.raises(Exception):  # noqa: B017,PT011 - no token: the HTTP layer answers 401 before MCP starts
        async with _client(url, None) as client:
            await client.list_tools()

    async with _client(url, read_a) as client:
        tags = await _call(client, "list_tags", {})  # firm A sees exactly one pilot: its own
        assert (tags["pilot"], tags["company"]) == ("mobility-cnc", "firm-a")
        values = await _call(client, "read_values", {"tags": ["feed_override"]})
        assert values["values"][0]["value"] == plant.value("feed_override")
        history = await _call(client, "read_history", {"tag": "spindle_vibration", "minutes": 10})
        assert history["tag_id"] == plant.node_id("spindle_vibration")
        assert history["points"]
        assert all(isinstance(p["value"], float) for p in history["points"])
        docs = await _call(client, "search_documents", {"query": "주축 진동이 높을 때 이송 오버라이드 조치", "k": 3})
        assert (docs["company"], docs["answerable"]) == ("firm-a", True)
        assert {h["citation"]["file"] for h in docs["hits"]} <= {"cnc-sop-m07.md", "cnc-sop-m07.ko.md"}
        assert all(h["excerpt"]["kind"] == "untrusted-data" and h["citation"]["chunk_id"] for h in docs["hits"])
        nothing = await _call(client, "search_documents", {"query": "구내식당 이번 주 점심 메뉴와 가격", "k": 3})
        assert nothing["answerable"] is False  # the documents hold no answer: said, not papered over
        other = await client.call_tool("list_tags", {"pilot": "healthcare-cleanroom"})
        assert other.is_error
        assert "no pilot 'healthcare-cleanroom' for this client" in str(other.content[0])
        # a read token cannot propose, and nothing reaches the plant
        writes = list(plant.write_log)
        denied = await client.call_tool("propose_action", {"target": "feed_override", "value": 95, "reason": "x"})
        assert denied.is_error
        assert "read-only access" in str(denied.content[0])
        assert plant.write_log == writes

    async with _client(url, read_b) as client:
        tags = await _call(client, "list_tags", {})
        assert tags["company"] == "firm-b"
        assert tags["pilot"] != "mobility-cnc"
        leak = await client.call_tool("read_values", {"tags": ["feed_override"], "pilot": "mobility-cnc"})
        assert leak.is_error
        assert "no pilot 'mobility-cnc' for this client" in str(leak.content[0])
        own = await _call(client, "search_documents", {"query": "주축 진동이 높을 때 이송 오버라이드 조치", "k": 5})
        assert own["company"] == "firm-b"  # firm B's search only ever reaches firm B's documents
        assert own["hits"]
        assert not {h["citation"]["file"] for h in own["hits"]} & {"cnc-sop-m07.md", "cnc-sop-m07.ko.md"}
        other_docs = await client.call_tool("search_documents", {"query": "이송 오버라이드", "company": "firm-a"})
        assert other_docs.is_error
        assert "no company 'firm-a' for this client" in str(other_docs.content[0])

    async with _client(url, propose_a) as client:
        current = (await _call(client, "read_values", {"tags": ["feed_override"]}))["values"][0]["value"]
        writes = list(plant.write_log)
        refused = await _call(client, "propose_action", {"target": "feed_override", "value": 150,
                                                         "reason": "out of range over HTTP"})
        assert refused["status"] == "refused"
        assert any("above allowed maximum 110" in r for r in refused["reasons"])
        assert plant.write_log == writes  # nothing reached the plant
        target = current - 5 if current - 5 >= 60 else current + 5
        pending = await _call(client, "propose_action", {"target": "feed_override", "value": target,
                                                         "reason": "test over HTTP"})
        assert pending["status"] == "pending_approval"
        rid = pending["request_id"]
        approved = cli(home, "runs", "approve", rid, "--by", "박지훈")
        assert approved.returncode == 0, approved.stderr
        deadline = time.monotonic() + 60
        status = await _call(client, "get_action_status", {"request_id": rid})
        while status["status"] in ("pending_approval", "approved", "running") and time.monotonic() < deadline:
            status = await _call(client, "get_action_status", {"request_id": rid})
        assert status["status"] == "done", status
        assert status["actions"][0]["read_back"] == target
        assert plant.value("feed_override") == target
        assert [(role, v) for _, role, v in plant.write_log[len(writes):]] == [("feed_override", target)]

    async with _client(url, read_b) as client:  # firm B cannot see firm A's request either
        hidden = await client.call_tool("get_action_status", {"request_id": rid})
        assert hidden.is_error

    token_id = read_a.split("_")[1]
    revoked = cli(home, "mcp", "token", "revoke", token_id)
    assert revoked.returncode == 0, revoked.stderr
    for _ in range(2):
        with pytest.raises(Exception):  # noqa: B017,PT011 - the revoked token gets 401 on its next request
            async with _client(url, read_a) as client:
                await client.list_tools()

    with Ledger(home / "ledger.sqlite") as ledger:
        calls = [r.payload for r in ledger.records(kind="mcp-call")]
        refused = [r.payload for r in ledger.records(kind="mcp-refused")]
    # the revoked token's attempt is on the ledger too (once: repeats within a minute are only logged)
    assert [(r["token_id"], r["client"], r["company"]) for r in refused] == [(token_id, "desk-a", "firm-a")]
    assert "revoked" in refused[0]["reason"]
    assert {(c["client"], c["transport"]) for c in calls} == {("desk-a", "http"), ("desk-b", "http"),
                                                              ("agent-a", "http")}
    assert all(c["token_id"] for c in calls)
    assert {c["company"] for c in calls if c["client"] == "desk-b"} == {"firm-b"}
