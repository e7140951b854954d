"""Runs (filters, paging, timeline) and the Ledger (browse, verify naming the first broken record, export)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from fastapi.testclient import TestClient

from factorypilot.agents import RunStore

from .conftest import login


def test_run_timeline_lists_every_ledger_record_of_the_run(client: TestClient) -> None:
    login(client, "김민수")
    page = client.get("/runs/pilot-a-run-waiting").text
    for kind in ("observation", "retrieval", "approval-requested"):
        assert f'<span class="kind">{kind}</span>' in page
    assert "승인을 기다리는 중" in page


def test_runs_filter_and_paging(client: TestClient, home: Path) -> None:
    store = RunStore(home / "agent.sqlite")
    for i in range(120):
        store.upsert_run(f"pilot-a-bulk-{i:03d}", "pilot-a", "done" if i % 2 else "attention", summary=f"bulk {i}")
    store.close()
    login(client, "김민수")
    page1 = client.get("/runs?status=attention").text
    assert "총 60건 중 1–50" in page1
    assert "pilot-a-run-done" not in page1  # status filter
    page2 = client.get("/runs?status=attention&page=2").text
    assert "총 60건 중 51–60" in page2
    assert "bulk 7" not in client.get("/runs?q=bulk 6").text.replace("bulk 6", "")


def test_ledger_verify_names_the_first_broken_record(client: TestClient, home: Path) -> None:
    login(client, "김민수")
    assert "원장 무결성 확인" in client.get("/ledger/verify").text
    db = sqlite3.connect(home / "ledger.sqlite")
    seq = db.execute("SELECT seq FROM ledger WHERE run_id = 'pilot-a-run-done' AND kind = 'observation'").fetchone()[0]
    db.execute("UPDATE ledger SET payload = ? WHERE seq = ?", (json.dumps({"pilot": "pilot-a", "values": {}}), seq))
    db.commit()
    db.close()
    page = client.get("/ledger/verify")
    assert page.status_code == 200
    assert f"처음 손상된 기록: {seq}번" in page.text
    assert "was edited" in page.text
    # the other firm is told the ledger is broken, but not what the record says
    client.cookies.clear()
    login(client, "park")
    other = client.get("/ledger/verify").text
    assert f"처음 손상된 기록: {seq}번" in other
    assert "다른 기업의 기록" in other


def test_ledger_browse_and_filter_by_kind(client: TestClient) -> None:
    login(client, "김민수")
    page = client.get("/ledger?kind=retrieval").text
    assert page.count('<td class="kind">retrieval</td>') == 2
    assert "observation</td>" not in page
