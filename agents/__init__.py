"""Agents: the LangGraph runtime, planners, safety envelope, approvals and the audit ledger."""

from factorypilot.agents._lease import LeaseInfo, read_leases
from factorypilot.agents._reasons import result_reason
from factorypilot.agents.config import AgentConfig, VerifyConfig
from factorypilot.agents.detectors import DetectorConfig, build_detector, run_detectors
from factorypilot.agents.graph import AgentState, build_graph
from factorypilot.agents.ledger import Ledger, LedgerRecord, VerifyReport
from factorypilot.agents.planners.base import Plan, PlanContext, Planner
from factorypilot.agents.planners.playbook import Playbook, PlaybookPlanner, load_playbooks
from factorypilot.agents.runtime import AgentRuntime, RunOutcome
from factorypilot.agents.runtime_deps import Retriever
from factorypilot.agents.safety import Decision, Guard, Interlock, SafetyPolicy, TagRule
from factorypilot.agents.store import RunStore
from factorypilot.agents.trigger import EventTrigger

__all__ = [
    "AgentConfig",
    "AgentRuntime",
    "AgentState",
    "Decision",
    "DetectorConfig",
    "EventTrigger",
    "Guard",
    "Interlock",
    "LeaseInfo",
    "Ledger",
    "LedgerRecord",
    "Plan",
    "PlanContext",
    "Planner",
    "Playbook",
    "PlaybookPlanner",
    "Retriever",
    "RunOutcome",
    "RunStore",
    "SafetyPolicy",
    "TagRule",
    "VerifyConfig",
    "VerifyReport",
    "build_detector",
    "build_graph",
    "load_playbooks",
    "read_leases",
    "result_reason",
    "run_detectors",
]
