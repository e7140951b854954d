"""Tool error texts are English and Korean: the server's own refusals in full, deeper errors by their kind."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from factorypilot.errors import (
    AuthenticationError,
    ConfigError,
    ConnectorTimeout,
    FactoryPilotError,
    NodeNotFoundError,
    SafetyViolation,
)
from factorypilot.mcp import PilotTarget, build_server, open_deployment
from factorypilot.mcp._messages import tool_error_text
from factorypilot.pilots.simulator import PlantHandle

from .test_inprocess import _roles


@pytest.mark.parametrize(("exc", "expected"), [
    (NodeNotFoundError("node ns=2;s=X not found", hint="see list_tags"),
     "설비에 없는 태그 / error: node ns=2;s=X not found — see list_tags"),
    (ConnectorTimeout("opc.tcp://127.0.0.1:4840 did not answer"),
     "설비 연결 오류 / error: opc.tcp://127.0.0.1:4840 did not answer"),
    (AuthenticationError("bad token"), "인증 실패 / error: bad token"),
    (SafetyViolation("interlock door_open"), "안전 정책 거부 / error: interlock door_open"),
    (ConfigError("bad value", where="tags[0]"), "요청 또는 설정 오류 / error: bad value (at tags[0])"),
    (FactoryPilotError("something"), "오류 / error: something"),
])
def test_an_english_only_error_gets_the_korean_name_of_its_kind(exc: FactoryPilotError, expected: str) -> None:
    assert tool_error_text(exc) == expected


def test_an_error_with_its_own_korean_is_left_as_it_is() -> None:
    exc = ConfigError("no run 'x' for this client / 이 클라이언트에 'x' 실행이 없습니다", hint="see list_runs / 참고")
    assert tool_error_text(exc) == str(exc)


async def test_the_servers_own_refusals_reach_the_client_in_both_languages(tmp_path: Path,
                                                                           plant: PlantHandle) -> None:
    target = PilotTarget("mobility", endpoint=plant.endpoint, bindings=_roles(plant))
    async with open_deployment([target], home=tmp_path) as dep, Client(build_server(dep)) as client:
        cases = {
            ("get_action_status", "request_id", "nope"): ("no action request 'nope' for this client",
                                                          "이 클라이언트에 'nope' 요청이 없습니다"),
            ("get_run", "run_id", "nope"): ("no run 'nope' for this client", "이 클라이언트에 'nope' 실행이 없습니다"),
            ("list_tags", "pilot", "other"): ("no pilot 'other' for this client",
                                              "이 클라이언트에 'other' 파일럿이 없습니다"),
            ("propose_action", "target", "feed_override"): ("read-only access to pilot 'mobility-cnc'",
                                                            "'mobility-cnc' 파일럿을 읽기만 할 수 있습니다"),
        }
        for (tool, key, value), (en, ko) in cases.items():
            args = {key: value, "reason": "test", "value": 90} if tool == "propose_action" else {key: value}
            result = await client.call_tool(tool, args)
            assert result.is_error, tool
            text = str(result.content[0])
            assert en in text, (tool, text)
            assert ko in text, (tool, text)


async def test_read_values_reads_only_bound_roles_and_tags_unless_raw_node_ids_are_allowed(
        tmp_path: Path, plant: PlantHandle) -> None:
    roles = _roles(plant)
    target = PilotTarget("mobility", endpoint=plant.endpoint, bindings=roles)
    raw = "i=2258"  # the server's CurrentTime: on every OPC UA server, bound to no role
    async with open_deployment([target], home=tmp_path / "a") as dep, Client(build_server(dep)) as client:
        by_id = await client.call_tool("read_values", {"tags": ["feed_override", roles["spindle_vibration"]]})
        assert not by_id.is_error, by_id.content
        assert by_id.structured_content is not None
        assert [v["role"] for v in by_id.structured_content["values"]] == ["feed_override", "spindle_vibration"]
        for tool, args in (("read_values", {"tags": ["feed_override", raw]}), ("read_history", {"tag": raw})):
            refused = await client.call_tool(tool, args)
            assert refused.is_error, tool
            text = str(refused.content[0])
            assert "pilot 'mobility-cnc' has no role or bound tag 'i=2258'" in text
            assert "파일럿에 없는 역할·태그입니다" in text
            assert "--allow-raw-node-ids" in text
    async with open_deployment([target], home=tmp_path / "b", raw_node_ids=True) as dep, \
            Client(build_server(dep)) as client:
        allowed = await client.call_tool("read_values", {"tags": [raw]})
        assert not allowed.is_error, allowed.content
        assert allowed.structured_content is not None
        [value] = allowed.structured_content["values"]
        assert (value["tag_id"], value["quality"]) == (raw, "good")
        assert value["text"]["kind"] == "untrusted-data"
