"""The public contract of the MCP server: tool names and input schemas (snapshot), no approve tool, tokens."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from factorypilot.errors import AuthenticationError, ConfigError
from factorypilot.mcp import TOOL_NAMES, Deployment, TokenStore, build_server

SNAPSHOT = Path(__file__).with_name("tools.snapshot.json")


async def _tools(tmp_path: Path) -> dict[str, Any]:
    async with Client(build_server(Deployment(home=tmp_path))) as client:
        tools = (await client.list_tools()).tools
    return {t.name: {"input": t.input_schema, "output": t.output_schema, "description": t.description}
            for t in tools}


async def test_tool_list_matches_the_snapshot(tmp_path: Path) -> None:
    """Change the contract only on purpose: regenerate with FACTORYPILOT_UPDATE_SNAPSHOT=1 and review the diff.

    Inputs and outputs: a client parses the structured results, so their shape is the contract too."""
    tools = await _tools(tmp_path)
    current = {name: {"input": t["input"], "output": t["output"]} for name, t in sorted(tools.items())}
    if os.environ.get("FACTORYPILOT_UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.write_text(json.dumps(current, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    assert current == json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert sorted(tools) == sorted(TOOL_NAMES)


async def test_no_tool_lets_a_client_approve(tmp_path: Path) -> None:
    tools = await _tools(tmp_path)
    assert not [n for n in tools if any(w in n for w in ("approve", "reject", "decide", "confirm"))]
    for name, tool in tools.items():
        props = set(tool["input"].get("properties", {}))
        assert not props & {"approved", "user_approved", "approved_by", "by", "decision"}, name
        assert any("\uac00" <= ch <= "\ud7a3" for ch in tool["description"]), f"{name}: no Korean description"
        for prop, schema in tool["input"].get("properties", {}).items():
            text = schema.get("description", "")
            assert any("\uac00" <= ch <= "\ud7a3" for ch in text), f"{name}.{prop}: no Korean description"


def test_tokens_hashed_scoped_and_revocable(tmp_path: Path) -> None:
    with TokenStore(tmp_path / "mcp.sqlite") as store:
        token, info = store.create("acme", "read", client="desk")
        assert token.startswith(f"fpm_{info.token_id}_")
        assert token.split("_", 2)[2] not in (tmp_path / "mcp.sqlite").read_bytes().decode("latin-1")
        assert store.verify(token).company == "acme"
        assert not info.may_propose("mobility-cnc")
        ptoken, pinfo = store.create("acme", "propose", pilots=["mobility-cnc"])
        assert pinfo.may_propose("mobility-cnc")
        assert not pinfo.may_propose("robotics-cell")
        with pytest.raises(ConfigError, match="granted per pilot"):
            store.create("acme", "propose")
        with pytest.raises(ConfigError, match="unknown scope"):
            store.create("acme", "write")
        with pytest.raises(AuthenticationError, match="unknown MCP token"):
            store.verify(token[:-2] + "xx")
        with pytest.raises(AuthenticationError, match="malformed"):
            store.verify("Bearer nonsense")
        store.revoke(info.token_id)
        with pytest.raises(AuthenticationError, match="revoked"):
            store.verify(token)
        assert store.verify(ptoken).token_id == pinfo.token_id
        assert [t.token_id for t in store.list("acme")] == [info.token_id, pinfo.token_id]
