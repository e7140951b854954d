"""Console fixtures: a home with two firms' runs (real RunStore, real ledger), users of both firms, a client.

Firm ``acme`` owns pilot ``pilot-a``, firm ``beta`` owns ``pilot-b``. Each pilot has one run waiting for approval
(feed override 100 → 85 %, the policy 60–110 %, step ≤ 20) and one finished run; the requests have the same
shape as the agent graph's (``diagnosis``, ``actions``, ``edit_rules``) because they are made from the same
policy classes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from factorypilot.agents import Ledger, RunStore, TagRule
from factorypilot.console import ConsoleConfig, UserStore, create_app

PASSWORD = "correct-horse-1"
# argon2id with small parameters, only to keep the suite fast (verification reads the parameters from the hash;
# the product hashes with the library's defaults)
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
RULE = TagRule(target="feed_override", min=60, max=110, max_step=20, approval="always")
TAG = "ns=2;s=mobility.line-01.cnc-01.feed_override"
EXCERPT = "{pilot} SOP-12: 주축 진동이 4 mm/s를 넘으면 이송 속도를 15 % 낮춘다."


def approval_request(run_id: str, pilot: str) -> dict[str, Any]:
    return {"run_id": run_id, "pilot": pilot, "diagnosis": f"{pilot}: 주축 진동 상승 — 이송 속도를 낮춥니다",
            "actions": [{"kind": "write", "target": TAG, "value": 85.0, "reason": "SOP-12 진동 대응"}],
            "edit_rules": {"0": {"target": TAG, "kind": "write", "value": 85.0,
                                 "rule": RULE.model_dump(mode="json"), "current": 100.0}},
            "event": "threshold:spindle_vibration"}


def seed_run(home: Path, run_id: str, pilot: str, *, waiting: bool) -> None:
    store = RunStore(home / "agent.sqlite")
    with Ledger(home / "ledger.sqlite", anchor_db=home / "agent.sqlite") as led:
        store.upsert_run(run_id, pilot, "running")
        led.append("observation", {"pilot": pilot, "values": {"feed_override": 100.0, "spindle_vibration": 3.6}},
                   run_id=run_id, key=f"{run_id}:observe")
        led.append("retrieval", {"queries": ["vibration"], "citations": [f"{pilot}-SOP.md#진동"],
                                 "excerpts": [EXCERPT.format(pilot=pilot)]}, run_id=run_id, key=f"{run_id}:retrieve")
        if waiting:
            req = approval_request(run_id, pilot)
            store.request_approval(run_id, req)
            store.upsert_run(run_id, pilot, "waiting_approval", summary=req["diagnosis"])
            led.append("approval-requested", req, run_id=run_id, key=f"{run_id}:approve-req")
        else:
            led.append("report", {"status": "done", "diagnosis": "ok"}, run_id=run_id, key=f"{run_id}:report")
            store.upsert_run(run_id, pilot, "done", summary=f"{pilot} done")
    store.close()


@pytest.fixture
def home(fp_home: Path) -> Path:
    fp_home.mkdir(parents=True, exist_ok=True)
    for pilot in ("pilot-a", "pilot-b"):
        seed_run(fp_home, f"{pilot}-run-waiting", pilot, waiting=True)
        seed_run(fp_home, f"{pilot}-run-done", pilot, waiting=False)
    users = UserStore(fp_home / "console.sqlite", hasher=FAST_HASHER)
    users.assign_pilot("pilot-a", "acme")
    users.assign_pilot("pilot-b", "beta")
    for name, role, company in (("김민수", "approver", "acme"), ("lee", "viewer", "acme"),
                                ("park", "approver", "beta"), ("staff", "admin", "*")):
        users.add_user(name, role, company, PASSWORD)
    users.close()
    return fp_home


@pytest.fixture
def client(home: Path) -> Iterator[TestClient]:
    with TestClient(create_app(ConsoleConfig(home=home)), raise_server_exceptions=False) as c:
        yield c


def login(client: TestClient, name: str, password: str = PASSWORD) -> Any:
    page = client.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token, page.text
    return client.post("/login", data={"name": name, "password": password, "login_token": token.group(1)},
                       follow_redirects=False)


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def decision(home: Path, run_id: str) -> Any:
    store = RunStore(home / "agent.sqlite", readonly=True)
    try:
        return store.approval(run_id)
    finally:
        store.close()
