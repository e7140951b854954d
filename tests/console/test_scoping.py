"""Per-company scoping: a user of firm A sees and decides nothing of firm B — not in lists, not by URL, not in
the ledger, not in exports. Programme staff (company '*') see every firm."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from .conftest import csrf_of, decision, login


def test_lists_and_pages_show_only_the_users_firm(client: TestClient) -> None:
    login(client, "김민수")
    runs = client.get("/runs").text
    assert "pilot-a-run-done" in runs
    assert "pilot-a-run-waiting" in runs
    assert "pilot-b" not in runs
    assert client.get("/api/pending").json() == {"count": 1, "runs": ["pilot-a-run-waiting"]}
    assert "pilot-b" not in client.get("/ledger").text
    filtered = client.get("/runs?pilot=pilot-b").text
    assert "pilot-b-run" not in filtered
    assert "실행이 없습니다" in filtered
    assert "pilot-b" not in client.get("/pilots").text


def test_another_firms_run_by_url_reads_as_not_found(client: TestClient) -> None:
    login(client, "김민수")
    theirs = client.get("/runs/pilot-b-run-done")
    missing = client.get("/runs/no-such-run")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.text.replace("pilot-b-run-done", "X") == missing.text.replace("no-such-run", "X")


def test_another_firms_approval_cannot_be_decided(client: TestClient, home: Path) -> None:
    login(client, "김민수")
    token = csrf_of(client.get("/approvals").text)
    r = client.post("/approvals/pilot-b-run-waiting", data={"decision": "approve", "csrf": token})
    assert r.status_code == 404
    assert decision(home, "pilot-b-run-waiting").decision is None


def test_exports_carry_only_the_users_firm(client: TestClient) -> None:
    login(client, "park")
    records = json.loads(client.get("/ledger/export?fmt=json").text)
    assert records
    assert {r["run_id"] for r in records} == {"pilot-b-run-waiting", "pilot-b-run-done"}
    assert [r["seq"] for r in records] == sorted(r["seq"] for r in records)
    csv_text = client.get("/ledger/export?fmt=csv&from=1&to=100").text
    assert "pilot-a" not in csv_text
    assert "pilot-b-run-done" in csv_text
    assert csv_text.lstrip("\ufeff").splitlines()[0] == "seq,time,kind,run_id,payload,prev_hash,hash"


def test_programme_staff_see_every_firm(client: TestClient) -> None:
    login(client, "staff")
    assert client.get("/api/pending").json()["count"] == 2
    runs = client.get("/runs").text
    assert "pilot-a-run-done" in runs
    assert "pilot-b-run-done" in runs
    assert client.get("/runs/pilot-b-run-done").status_code == 200


def test_an_unassigned_pilot_is_visible_to_staff_only(client: TestClient, home: Path) -> None:
    from .conftest import seed_run

    seed_run(home, "pilot-x-run", "pilot-x", waiting=False)
    login(client, "김민수")
    assert client.get("/runs/pilot-x-run").status_code == 404
    client.cookies.clear()
    login(client, "staff")
    assert client.get("/runs/pilot-x-run").status_code == 200
