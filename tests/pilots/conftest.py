"""Shared checks for the reference pilots' scenario tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from factorypilot.pilots.evaluation.harness import EvalReport

ScenarioCheck = Callable[[EvalReport, str], None]


def _meets_expectation(report: EvalReport, scenario_id: str) -> None:
    """What every reference scenario must show: no problem, the expected detection, nothing unsafe or
    unverified, a verifying ledger, and no run or write at all where nothing was to be detected."""
    s = report.scenario(scenario_id)
    assert s.problems == []
    assert s.detected is s.expect_detect
    assert s.safety_violations == []
    assert s.unverified_done == []
    assert s.ledger_ok
    if not s.expect_detect:
        assert (s.writes, s.runs) == ([], 0)


@pytest.fixture
def scenario_met() -> ScenarioCheck:
    return _meets_expectation
