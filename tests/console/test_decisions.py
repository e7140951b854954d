"""Decisions from the console take the one compare-and-set path: stored with the logged-in user, edits checked
against the policy, the loser of a race told who decided first."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from pathlib import Path

from fastapi.testclient import TestClient

from factorypilot.console import ConsoleConfig, create_app

from .conftest import csrf_of, decision, login

RUN = "pilot-a-run-waiting"


def test_the_page_shows_diagnosis_change_policy_and_citations(client: TestClient) -> None:
    login(client, "김민수")
    page = client.get("/approvals").text
    assert "pilot-a: 주축 진동 상승" in page
    assert '<td class="from">100</td>' in page
    assert '<td class="to">85</td>' in page
    assert "허용 범위 60 ~ 110" in page
    assert "한 번 변경 폭 ≤ 20 (현재 100 에서 15)" in page
    assert "pilot-a-SOP.md#진동" in page
    assert '<label for="edit-1-0-pilot-a-run-waiting">' in page  # every control has a label
    assert "pilot-b" not in page  # the other firm's request is not on the page
    # the cited document opens its excerpt (a <details> element: a click or Enter, no script)
    assert ("<details><summary>pilot-a-SOP.md#진동</summary><blockquote class=\"excerpt\">"
            "pilot-a SOP-12: 주축 진동이 4 mm/s를 넘으면 이송 속도를 15 % 낮춘다.</blockquote></details>") in page


def test_the_dry_run_shows_the_guards_verdict_before_approval(client: TestClient, home: Path) -> None:
    """No plant link: the guard runs on the value at request time and the page says so; an out-of-range
    proposal (the request edited in the store to 150) shows as refused with the guard's reason."""
    login(client, "김민수")
    page = client.get("/approvals").text
    assert re.search(r'data-index="0" data-allowed="yes">#0 [^:]+:\s*<span class="before">100</span> → '
                     r'<span class="after">85</span>\s*\(', page), page
    assert "현재 값: 요청 시점 값 — 실시간 연결 없음" in page
    assert "안전 규칙 통과 (승인 필요)" in page
    db = sqlite3.connect(home / "agent.sqlite")
    with db:
        req = json.loads(db.execute("SELECT request FROM approvals WHERE run_id = ?", (RUN,)).fetchone()[0])
        req["edit_rules"]["0"]["value"] = 150.0
        db.execute("UPDATE approvals SET request = ? WHERE run_id = ?", (json.dumps(req), RUN))
    db.close()
    page = client.get("/approvals").text
    assert 'data-index="0" data-allowed="no"' in page
    assert "안전 규칙이 거부함: 값 150.0 이(가) 허용 최댓값 110.0 보다 큽니다" in page  # the guard's reason, in Korean
    client.cookies.set("fp_lang", "en")
    assert "value 150.0 above allowed maximum 110.0" in client.get("/approvals").text
    assert decision(home, RUN).decision is None  # looking decides nothing


def test_approve_records_the_logged_in_user(client: TestClient, home: Path) -> None:
    login(client, "김민수")
    token = csrf_of(client.get("/approvals").text)
    r = client.post(f"/approvals/{RUN}", data={"decision": "approve", "csrf": token, "edit_0": "85",
                                               "comment": "교대 전 확인"})
    assert r.status_code == 200
    assert "승인됨 (김민수)" in r.text
    row = decision(home, RUN)
    assert (row.decision, row.decided_by, row.edits, row.comment) == ("approve", "김민수", {}, "교대 전 확인")
    again = client.post(f"/approvals/{RUN}", data={"decision": "reject", "csrf": token})
    assert again.status_code == 409
    assert "already approved by 김민수" in again.text
    assert decision(home, RUN).decision == "approve"


def test_an_edit_out_of_range_is_refused_with_the_reason(client: TestClient, home: Path) -> None:
    login(client, "김민수")
    token = csrf_of(client.get("/approvals").text)
    for value, why in (("200", "outside the policy"), ("abc", "is not a number"), ("50", "outside the policy")):
        r = client.post(f"/approvals/{RUN}", data={"decision": "approve", "csrf": token, "edit_0": value})
        assert r.status_code == 409, value
        assert "결정이 거부되었습니다" in r.text, r.text
        assert why in r.text, r.text
    r = client.post(f"/approvals/{RUN}", data={"decision": "reject", "csrf": token, "edit_0": "90"})
    assert r.status_code == 409
    assert "only an approval can edit values" in r.text
    assert decision(home, RUN).decision is None
    r = client.post(f"/approvals/{RUN}", data={"decision": "approve", "csrf": token, "edit_0": "90"})
    assert r.status_code == 200
    assert decision(home, RUN).edits == {"0": 90}


def test_two_people_racing_one_wins_the_other_is_told(home: Path) -> None:
    app = create_app(ConsoleConfig(home=home))
    clients = [TestClient(app, raise_server_exceptions=False) for _ in range(2)]
    for c in clients:
        login(c, "김민수")
    tokens = [csrf_of(c.get("/approvals").text) for c in clients]
    barrier = threading.Barrier(2)
    results: list[tuple[int, str]] = []

    def go(i: int) -> None:
        barrier.wait()
        r = clients[i].post(f"/approvals/{RUN}", data={"decision": ("approve", "reject")[i], "csrf": tokens[i]})
        results.append((r.status_code, r.text))

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(s for s, _ in results) == [200, 409]
    loser = next(text for s, text in results if s == 409)
    winner = decision(home, RUN)
    assert f"already {'approved' if winner.decision == 'approve' else 'rejected'} by 김민수" in loser
