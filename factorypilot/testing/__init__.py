"""Test helpers shipped with the library: the connector contract suite and fakes.

``ConnectorContract`` is to connectors what meltano's tap test factory is to taps: subclass it in your
own tests, provide one fixture, and inherit every behavioural test the in-tree connectors pass. ``FakeChatModel``
is a scripted chat model for planner tests (no network).
"""

from factorypilot.testing.connector_contract import AlarmCase, ConnectorContract, WriteCase, permit_for_tests
from factorypilot.testing.fake_chat import FakeChatModel, dangling_tool_calls, estimate_tokens, tool_call

__all__ = [
    "AlarmCase",
    "ConnectorContract",
    "FakeChatModel",
    "WriteCase",
    "dangling_tool_calls",
    "estimate_tokens",
    "permit_for_tests",
    "tool_call",
]
