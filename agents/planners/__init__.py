"""Planners: ``PlaybookPlanner`` (deterministic, offline default) and ``LLMPlanner``
(``factorypilot.agents.planners.llm``; real chat models need the ``[llm]`` extra)."""

from factorypilot.agents.planners.base import Plan, PlanContext, Planner, localized
from factorypilot.agents.planners.playbook import Playbook, PlaybookPlanner, load_playbooks

__all__ = ["Plan", "PlanContext", "Planner", "Playbook", "PlaybookPlanner", "load_playbooks", "localized"]
