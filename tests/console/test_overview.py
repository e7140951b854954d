"""Pilots, Evaluation and Programme pages: what they show, and only for the user's firm."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from fastapi.testclient import TestClient

from factorypilot.console import ConsoleConfig, UserStore, create_app
from factorypilot.pilots.spreading.programme import record_kpis
from factorypilot.pilots.spreading.templates import export_template, init_from_template

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


PROFILES = Path(__file__).parents[1] / "pilots" / "spreading" / "firm_profiles" / "dev"


def _profiles(folder: Path) -> Path:
    """Two firms of the matching answer key, their profile ids set to the console's company ids."""
    folder.mkdir()
    for src, firm in (("d01-seongseo-caliper.yaml", "acme"), ("d02-gyeongsan-catheter.yaml", "beta")):
        data = yaml.safe_load((PROFILES / src).read_text(encoding="utf-8"))
        data["id"] = firm
        (folder / f"{firm}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    (folder / "broken.yaml").write_text("goals: [", encoding="utf-8")
    return folder


def test_programme_page_shows_matching_results_scoped_per_firm(home: Path, tmp_path: Path) -> None:
    app = create_app(ConsoleConfig(home=home, profiles=_profiles(tmp_path / "profiles")))
    with TestClient(app, raise_server_exceptions=False) as client:
        assert app.state.matching.ready.wait(600)  # ranked in the background (the offline model loads once)
        login(client, "staff")
        page = client.get("/programme").text
        assert 'data-state="ready"' in page
        rows = dict(re.findall(r'<tr data-firm="([^"]+)">.*?<td class="start">[^<]*<code>([^<]+)</code>', page, re.S))
        assert rows == {"acme": "mobility-cnc", "beta": "healthcare-cleanroom"}  # the answer key's best templates
        assert "broken.yaml" in page  # a profile that cannot be read is named, not dropped
        client.cookies.clear()
        login(client, "김민수")  # firm acme: its own row only
        own = client.get("/programme").text
        assert re.findall(r'<tr data-firm="([^"]+)">', own) == ["acme"]
        assert "broken.yaml" not in own
        assert "목표" in own  # the reasons cite the firm's goals, in Korean


def test_programme_page_reads_a_matching_json_and_says_when_it_is_not_one(home: Path, tmp_path: Path) -> None:
    good = tmp_path / "matching.json"
    good.write_text(json.dumps({"firms": [{"firm": "acme", "name": "에이크미", "confidence": 0.9, "close_call": False,
                                           "decide": [], "ranking": [{"template": "mobility-cnc", "title": "CNC",
                                                                      "score": 0.8, "reasons": ["목표 → 해결"]}]}],
                                "failures": []}), encoding="utf-8")
    with TestClient(create_app(ConsoleConfig(home=home, matching=good)), raise_server_exceptions=False) as client:
        login(client, "park")  # firm beta: no profile in the results
        assert "이 기업의 프로필이 없습니다" in client.get("/programme").text
        client.cookies.clear()
        login(client, "김민수")
        assert '<tr data-firm="acme">' in client.get("/programme").text
    bad = tmp_path / "bad.json"
    bad.write_text("[]", encoding="utf-8")
    with TestClient(create_app(ConsoleConfig(home=home, matching=bad)), raise_server_exceptions=False) as client:
        login(client, "staff")
        page = client.get("/programme").text
        assert 'data-state="failed"' in page
        assert "factorypilot match --format json" in page


def test_programme_kpis_chart_against_the_target_line_scoped_per_firm(home: Path, tmp_path: Path) -> None:
    tpl = export_template("robotics", home / "templates", home=home, override_reason="console test", by="t")
    for firm, kpis in (("acme", ({"oee": 60.0}, {"oee": 70.0})), ("beta", ({"scrap_rate": 5.0}, {"scrap_rate": 4.8}))):
        project = init_from_template(tpl, company=firm, endpoint=None, dest=tmp_path / "projects" / firm)
        record_kpis(project, baseline=kpis[0], current=kpis[1])
    cfg = ConsoleConfig(home=home, projects=(tmp_path / "projects",))
    with TestClient(create_app(cfg), raise_server_exceptions=False) as client:
        login(client, "staff")
        page = client.get("/programme").text
        assert "도입 건수 2 / 목표 20" in page
        # oee +16.7 % meets the +10 % line; scrap 5 → 4.8 is 4 % better (lower is better) and does not
        bars = re.findall(r'<rect class="bar (pass|fail)"[^>]*><title>([^<]+)</title>', page)
        assert bars == [("pass", "acme · oee: +16.7%"), ("fail", "beta · scrap_rate: +4.0%")]
        assert 'id="target-line"' in page
        client.cookies.clear()
        login(client, "김민수")
        own = client.get("/programme").text
        assert re.findall(r"<title>([^<]+)</title></rect>", own) == ["acme · oee: +16.7%"]
        assert "도입 건수 1 / 목표 20" in own
