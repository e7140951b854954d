"""The evaluation room: run a pilot's scenarios against the testbed and score it.

``harness`` (evaluate, reports), ``scenarios`` (the scenario/gate/KPI schema a spec uses), ``_run`` (one scenario,
agent and baseline), ``_score`` (detection, safety, KPIs), ``_report`` / ``_plots`` (Markdown, JSON, PNG),
``_replay`` (recorded data as a plant), ``alarm_stats`` (ISA-18.2 alarm figures; import its function of the same
name from the module). A new metric goes in ``_score``.
See ``docs/evaluation.md``."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._score import Aggregate, ScenarioScore
    from .alarm_stats import AlarmStats, BadActor
    from .harness import APPROVER, EvalReport, aevaluate, evaluate, load_scenarios, make_planner
    from .scenarios import (
        Expectation,
        ExpectedAction,
        FaultSpec,
        GateSpec,
        KpiSpec,
        ReplaySpec,
        Scenario,
        load_scenario_file,
    )

__all__ = [
    "APPROVER",
    "Aggregate",
    "AlarmStats",
    "BadActor",
    "EvalReport",
    "Expectation",
    "ExpectedAction",
    "FaultSpec",
    "GateSpec",
    "KpiSpec",
    "ReplaySpec",
    "Scenario",
    "ScenarioScore",
    "aevaluate",
    "evaluate",
    "load_scenario_file",
    "load_scenarios",
    "make_planner",
]

_WHERE = {
    "APPROVER": "harness",
    "EvalReport": "harness",
    "aevaluate": "harness",
    "evaluate": "harness",
    "load_scenarios": "harness",
    "make_planner": "harness",
    "Expectation": "scenarios",
    "ExpectedAction": "scenarios",
    "FaultSpec": "scenarios",
    "GateSpec": "scenarios",
    "KpiSpec": "scenarios",
    "ReplaySpec": "scenarios",
    "Scenario": "scenarios",
    "load_scenario_file": "scenarios",
    "Aggregate": "_score",
    "ScenarioScore": "_score",
    "AlarmStats": "alarm_stats",
    "BadActor": "alarm_stats",
}


def __getattr__(name: str) -> Any:
    """Public names load on first use: the room's modules import each other and the pilot spec, so eager
    imports here would be circular (and slow down ``factorypilot --help``)."""
    if name in _WHERE:
        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
