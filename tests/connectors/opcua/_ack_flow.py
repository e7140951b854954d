"""The guarded acknowledgement against ``_branch_server.BranchServer``, as the A&C tests run it: the alarm read
from the plant (``alarm_request``), the guard, a named person's approval, the call and the read-back."""

from __future__ import annotations

from typing import Any

from factorypilot.agents import AgentConfig, AgentRuntime
from factorypilot.agents._external import alarm_request, propose
from factorypilot.agents.safety import AlarmRule, SafetyPolicy

from ._branch_server import BranchServer

__all__ = ["agent_for", "guarded_ack"]


def agent_for(server: BranchServer) -> AgentConfig:
    """A pilot on the server that may acknowledge any alarm up to severity 800, after approval."""
    return AgentConfig(name="branch-plant", roles={"oil_pressure": server.source.nodeid.to_string()},
                       policy=SafetyPolicy(name="p", alarms=[AlarmRule(source="*", max_severity=800)]),
                       verify={"attempts": 5, "interval_s": 0.1})  # type: ignore[arg-type]


async def guarded_ack(rt: AgentRuntime, cid: str, branch: str | None = None) -> dict[str, Any]:
    """Propose, approve and apply an acknowledgement of ``cid`` (branch ``branch``); the run's one result."""
    _, request = await alarm_request(rt, cid, confirm=False, comment="정비 통보", requested_by="test",
                                     branch_id=branch)
    proposal = await propose(rt, request, proposer={"client": "test"})
    assert proposal.status == "pending_approval", proposal.reasons
    assert proposal.request_id is not None
    out = await rt.resume(proposal.request_id, "approve", by="이영희")
    [result] = (out.report or {})["results"]
    return dict(result)
