"""Pilots, Evaluation and Programme pages: what they show, and only for the user's firm."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from factorypilot.console import UserStore

from .conftest import login


def test_pilots_page_shows_latest_values_with_units_and_policy_limits(client: TestClient, home: Path) -> None:
    users = UserStore(home / "console.sqlite")
    users.assign_pilot("pilot-a", "acme", "mobility")  # the reference spec gives units and the policy
    users.close()
    login(client, "김민수")
    page = client.get("/pilots").text
    # no plant link: the latest recorded values, marked as recorded (never passed off as live)
    assert ('<td>feed_override</td><td class="value" data-live="pilot-a|feed_override" data-source="recorded">'
            "100.0</td><td>%</td>") in page
    assert "60.0 ~ 110.0 (policy)" in page
    assert 'data-source="recorded">3.6</td><td>mm/s</td>' in page
    assert "(기록값)" in page
    assert "마지막으로 기록된 값" in page
    assert "정지" in page  # no service holds the pilot's lease


def test_evaluation_reports_are_scoped_and_show_the_gate(client: TestClient, home: Path) -> None:
    for pilot, passed in (("pilot-a", True), ("pilot-b", False)):
        out = home / "reports" / pilot / "20261207T000000"
        out.mkdir(parents=True)
        (out / "report.json").write_text(json.dumps({
            "pilot": pilot, "started": "2026-12-07T00:00:00", "gate_passed": passed,
            "gate": {"passed": passed, "failures": [] if passed else ["detection_rate 0.5 < 1.0"]},
            "metrics": {"detection_rate": 1.0 if passed else 0.5}}), encoding="utf-8")
    login(client, "김민수")
    page = client.get("/evaluation").text
    assert "pilot-a — 2026-12-07T00:00:00" in page
    assert "통과" in page
    assert "pilot-b" not in page
    client.cookies.clear()
    login(client, "park")
    other = client.get("/evaluation").text
    assert "detection_rate 0.5 &lt; 1.0" in other
    assert "pilot-a" not in other


def test_programme_page_without_projects_says_how_to_record(client: TestClient) -> None:
    login(client, "staff")
    page = client.get("/programme").text
    assert "도입 건수 0 / 목표 20" in page
    assert "factorypilot programme record" in page
