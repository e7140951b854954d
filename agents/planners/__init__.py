"""Planners: ``PlaybookPlanner`` (deterministic, offline default) and, with the ``[llm]`` extra, ``LLMPlanner``."""

from factorypilot.agents.planners.base import Plan, PlanContext, Planner, localized
from factorypilot.agents.planners.playbook import Playbook, PlaybookPlanner, load_playbooks

__all__ = ["Plan", "PlanContext", "Planner", "Playbook", "PlaybookPlanner", "load_playbooks", "localized"]
