"""Console page latency: p50/p95 of the Approvals and Runs pages with 10,000 runs in the store, against the same
pages with 100 runs (the baseline, same process, same run), and the time from a plant event to the approval
appearing in the page (real simulator, real pilot service, the console's event stream /api/stream).

    python benchmarks/console.py            # 10,000 runs, 200 requests per page, plus the event → page time
    python benchmarks/console.py --quick    # 2,000 runs, 50 requests, no plant

Requests go through the whole ASGI app in-process (FastAPI's TestClient): routing, session lookup, scoped SQL,
template rendering — not the network. Ratios are printed, not asserted.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from factorypilot.agents import Ledger, RunStore, TagRule
from factorypilot.console import ConsoleConfig, UserStore, create_app

PASSWORD = "benchmark-password"
RULE = TagRule(target="feed_override", min=60, max=110, max_step=20, approval="always").model_dump(mode="json")


def seed(home: Path, runs: int, pending: int) -> None:
    """``runs`` runs over 4 pilots of 2 firms; ``pending`` of them wait for approval; 3 ledger records each."""
    home.mkdir(parents=True, exist_ok=True)
    store = RunStore(home / "agent.sqlite")
    with Ledger(home / "ledger.sqlite", anchor_db=home / "agent.sqlite") as led:
        for i in range(runs):
            pilot = f"pilot-{i % 4}"
            run_id = f"{pilot}-run-{i:06d}"
            store.upsert_run(run_id, pilot, "running")
            led.append("observation", {"pilot": pilot, "values": {"feed_override": 100.0}}, run_id=run_id)
            led.append("decision", {"diagnosis": f"진동 상승 {i}"}, run_id=run_id)
            if i >= runs - pending:
                req = {"run_id": run_id, "pilot": pilot, "diagnosis": f"진동 상승 {i}",
                       "actions": [{"kind": "write", "target": "feed_override", "value": 85.0, "reason": "SOP"}],
                       "edit_rules": {"0": {"target": "feed_override", "kind": "write", "value": 85.0, "rule": RULE,
                                            "current": 100.0}}}
                store.request_approval(run_id, req)
                store.upsert_run(run_id, pilot, "waiting_approval", summary=req["diagnosis"])
            else:
                led.append("report", {"status": "done"}, run_id=run_id)
                store.upsert_run(run_id, pilot, "done", summary=f"done {i}")
    store.close()
    users = UserStore(home / "console.sqlite", hasher=PasswordHasher(time_cost=1, memory_cost=1024))
    for p in range(4):
        users.assign_pilot(f"pilot-{p}", "acme" if p < 2 else "beta")
    users.add_user("kim", "approver", "acme", PASSWORD)
    users.close()


def measure(home: Path, requests: int) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    with TestClient(create_app(ConsoleConfig(home=home))) as client:
        token = re.search(r'name="login_token" value="([^"]+)"', client.get("/login").text)
        assert token
        client.post("/login", data={"name": "kim", "password": PASSWORD, "login_token": token.group(1)})
        for path in ("/approvals", "/runs", "/runs?status=done&page=20"):
            assert client.get(path).status_code == 200
            times = []
            for _ in range(requests):
                t0 = time.perf_counter()
                client.get(path)
                times.append(time.perf_counter() - t0)
            q = statistics.quantiles(times, n=20)
            out[path] = (statistics.median(times) * 1e3, q[18] * 1e3)
    return out


def event_to_page() -> float:
    """Seconds from injecting a drift on the simulator to the request showing in /api/pending."""
    import yaml

    from factorypilot.pilots.runtime import reference_pilots
    from factorypilot.pilots.simulator import Fault, FaultKind, running_plant

    root = Path(tempfile.mkdtemp(prefix="fp-console-bench-"))
    home = root / "home"
    seed(home, 0, 0)
    users = UserStore(home / "console.sqlite")
    users.assign_pilot("mobility-cnc", "acme")
    users.close()
    spec_dir = root / "pilot"
    shutil.copytree(reference_pilots()["mobility"].parent, spec_dir)
    data = yaml.safe_load((spec_dir / "pilot.yaml").read_text(encoding="utf-8"))
    data["policy"]["tags"][0]["approval"] = "always"
    (spec_dir / "pilot.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    exe = str(Path(sys.executable).with_name("factorypilot"))
    try:
        with running_plant(model="mobility", seed=3, realtime=True, tick_seconds=0.1) as plant:
            (root / "b.yaml").write_text(yaml.safe_dump({r: t for r, t in plant.roles().items()
                                                         if r in data["roles"]}), encoding="utf-8")
            service = subprocess.Popen([exe, "pilot", "run", str(spec_dir / "pilot.yaml"), "--endpoint", plant.endpoint,
                                        "--bindings", str(root / "b.yaml"), "--no-knowledge", "--seconds", "120"],
                                       env={**os.environ, "FACTORYPILOT_HOME": str(home)},
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                # start_tick 0 = "now" (a start in the past starts at once)
                return _time_to_stream(home, plant, Fault(FaultKind.DRIFT, "spindle_vibration",
                                                          start_tick=0, magnitude=0.06))
            finally:
                service.terminate()
                service.wait(timeout=30)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _time_to_stream(home: Path, plant: Any, fault: Any) -> float:
    """Serve the console (uvicorn, free port), open the event stream as a firm user, inject ``fault`` and time
    until the stream announces the pending request (what the Approvals page reacts to)."""
    import json
    import socket
    import threading

    import httpx
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(create_app(ConsoleConfig(home=home)), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        while not (home / "agent.sqlite").exists() or not _leased(home):
            time.sleep(0.1)
        time.sleep(1.0)  # the service's subscription is open
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            token = re.search(r'name="login_token" value="([^"]+)"', client.get("/login").text)
            assert token
            client.post("/login", data={"name": "kim", "password": PASSWORD, "login_token": token.group(1)})
            with client.stream("GET", "/api/stream") as response:
                lines = response.iter_lines()
                start = 0.0
                for line in lines:
                    if line.startswith("data: ") and json.loads(line[6:])["count"] == 0 and not start:
                        start = time.perf_counter()
                        plant.inject(fault)
                    elif line.startswith("data: ") and start and json.loads(line[6:])["count"] > 0:
                        return time.perf_counter() - start
        raise RuntimeError("the stream ended before the approval request")
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _leased(home: Path) -> bool:
    import sqlite3

    db = sqlite3.connect(home / "agent.sqlite")
    try:
        return bool(db.execute("SELECT 1 FROM leases").fetchone())
    except sqlite3.Error:
        return False
    finally:
        db.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    runs, requests = (2_000, 50) if args.quick else (10_000, 200)
    with tempfile.TemporaryDirectory() as tmp:
        base_home, big_home = Path(tmp) / "base", Path(tmp) / "big"
        seed(base_home, 100, 20)
        seed(big_home, runs, 20)
        base = measure(base_home, requests)
        big = measure(big_home, requests)
    print(f"console pages, {requests} requests each; firm acme sees half the runs; 20 pending requests")
    print(f"{'page':28} {'100 runs p50/p95 ms':>22} {f'{runs:,} runs p50/p95 ms':>24} {'p50 ratio':>10}")
    for path in base:
        (b50, b95), (g50, g95) = base[path], big[path]
        print(f"{path:28} {b50:10.1f} /{b95:8.1f} {g50:12.1f} /{g95:8.1f} {g50 / b50:10.2f}x")
    if not args.quick:
        print(f"plant event → approval visible in the console: {event_to_page():.2f} s "
              "(drift onset, detector persistence 3 samples, run start, approval request, event stream)")


if __name__ == "__main__":
    main()
