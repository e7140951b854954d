# ruff: noqa: E402 - sys.path is fixed before the imports (see below)
"""Benchmark: MCP tool-call latency (stdio and streamable HTTP) vs the Python API directly, same run.

    python benchmarks/mcp.py            # 200 calls per contender
    python benchmarks/mcp.py --quick    # 30 calls per contender

The plant is the mobility simulator with 8 lines (OPC UA, in a thread of this process; ``scale=8``, 120 tags).
``read_values`` reads 100 distinct tags of it in one request (every line's signals, not the string states; most are
bound to no role, so the servers run with ``--allow-raw-node-ids``); the
pilot is bound to the first line.
``propose_action`` proposes a small feed-override reduction (allowed, so each call runs the guard on fresh
values and starts a run that stops at the approval step). Contenders:
- direct: ``connector.read(ids)`` and ``agents._external.propose`` in this process — the baseline
- in-process: the SDK client on its in-memory transport to the same server object in this process (the
  protocol, typed results and the per-call ledger record, without a process boundary)
- stdio: the SDK client talking to ``factorypilot mcp`` as a subprocess
- http: the SDK client talking to ``factorypilot mcp --transport http`` with a bearer token
Prints p50/p95 in ms and the ratio of each p50 to the direct p50, and the time of one ledger append (the
audit record every MCP call writes, fsync'd) on its own.
"""

from __future__ import annotations

import sys
from pathlib import Path

# this file is named like the SDK's package: run as a script, its folder must not shadow ``mcp``
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2
import yaml
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from rich.console import Console
from rich.table import Table

from factorypilot.agents._external import propose
from factorypilot.mcp import PilotTarget, TokenStore, build_server, open_deployment
from factorypilot.pilots.runtime import reference_pilots
from factorypilot.pilots.simulator import PlantHandle, running_plant
from factorypilot.vocabulary import ActionRequest

EXE = str(Path(sys.executable).with_name("factorypilot"))


async def _time(n: int, fn: Callable[[int], Awaitable[Any]]) -> list[float]:
    await fn(-1)  # warm-up
    out = []
    for i in range(n):
        t = time.perf_counter()
        await fn(i)
        out.append((time.perf_counter() - t) * 1000)
    return out


def _value(i: int) -> float:
    return 95.0 if i % 2 else 96.0  # within 60..110 and a small step from 100: allowed, waits for approval


async def _mcp_calls(client: Client, tags: list[str], n: int) -> tuple[list[float], list[float]]:
    async def read(_: int) -> None:
        r = await client.call_tool("read_values", {"tags": tags})
        assert not r.is_error, r.content
        assert len((r.structured_content or {})["values"]) == len(tags)

    async def prop(i: int) -> None:
        r = await client.call_tool("propose_action", {"target": "feed_override", "value": _value(i),
                                                      "reason": "benchmark"})
        assert not r.is_error, r.content
        assert (r.structured_content or {})["status"] == "pending_approval", r.content

    return await _time(n, read), await _time(n, prop)


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACTORYPILOT_")}
    return env | {"FACTORYPILOT_HOME": str(home), "FACTORYPILOT_ALLOW_MODEL_REQUESTS": "false"}


async def run(plant: PlantHandle, n: int, tmp: Path,
              appends: list[float]) -> dict[str, tuple[list[float], list[float]]]:
    spec = yaml.safe_load(reference_pilots()["mobility"].read_text(encoding="utf-8"))
    roles = {r: t for r, t in plant.roles().items() if r in spec["roles"]}
    bindings = tmp / "bindings.yaml"
    bindings.write_text(yaml.safe_dump(roles), encoding="utf-8")
    ids = [t for r, t in plant.roles().items() if not r.endswith("machine_state")][:100]  # 100 distinct tags
    assert len(ids) == 100, len(ids)
    results: dict[str, tuple[list[float], list[float]]] = {}

    async with open_deployment([PilotTarget("mobility", endpoint=plant.endpoint, bindings=roles)],
                               home=tmp / "direct", stdio_propose=["mobility-cnc"], raw_node_ids=True) as dep:
        p = dep.pilots["mobility-cnc"]

        async def read(_: int) -> None:
            assert len(await p.connector.read(ids)) == 100

        async def prop(i: int) -> None:
            out = await propose(p.runtime, ActionRequest(target="feed_override", value=_value(i), reason="bench"),
                                proposer={"client": "bench"})
            assert out.status == "pending_approval", out.reasons

        results["direct (Python API)"] = (await _time(n, read), await _time(n, prop))
        async with Client(build_server(dep)) as client:
            results["MCP in-process (memory transport)"] = await _mcp_calls(client, ids, n)
        ledger = dep.ledger
        assert ledger is not None

        async def append(i: int) -> None:
            ledger.append("benchmark", {"tool": "read_values", "client": "bench", "i": i})

        appends.extend(await _time(n, append))

    home = tmp / "stdio"
    params = StdioServerParameters(command=EXE, args=["mcp", "--pilot", "mobility", "--endpoint", plant.endpoint,
                                                      "--bindings", str(bindings), "--allow-propose", "mobility-cnc",
                                                      "--allow-raw-node-ids"],
                                   env=_env(home))
    async with Client(params) as client:
        results["MCP stdio"] = await _mcp_calls(client, ids, n)

    home = tmp / "http"
    home.mkdir()
    with TokenStore(home / "mcp.sqlite") as store:
        token, _ = store.create("mobility-cnc", "propose", pilots=["mobility-cnc"], client="bench")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [EXE, "mcp", "--transport", "http", "--port", str(port), "--pilot", "mobility", "--endpoint",
            plant.endpoint, "--bindings", str(bindings), "--allow-raw-node-ids"]
    log = (home / "server.log").open("w")
    proc = subprocess.Popen(args, env=_env(home), stdout=subprocess.DEVNULL, stderr=log)  # noqa: ASYNC220
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        for _ in range(600):
            if proc.poll() is not None:
                raise RuntimeError("the HTTP server stopped: " + (home / "server.log").read_text())
            try:
                async with httpx2.AsyncClient() as probe:
                    if (await probe.post(url, json={})).status_code == 401:
                        break
            except httpx2.TransportError:
                await asyncio.sleep(0.2)
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"},
                                      timeout=httpx2.Timeout(60.0)) as http, \
                Client(streamable_http_client(url, http_client=http)) as client:
            results["MCP streamable HTTP"] = await _mcp_calls(client, ids, n)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    return results


def _pct(xs: list[float], q: float) -> float:
    return statistics.quantiles(xs, n=100)[int(q) - 1] if len(xs) > 1 else xs[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="30 calls per contender")
    ap.add_argument("-n", type=int, default=200)
    args = ap.parse_args()
    n = 30 if args.quick else args.n
    with tempfile.TemporaryDirectory() as d, running_plant(model="mobility", seed=3, realtime=True,
                                                           tick_seconds=0.1, scale=8) as plant:
        appends: list[float] = []
        results = asyncio.run(run(plant, n, Path(d), appends))
    table = Table(title=f"MCP tool-call latency, {n} calls each (ms; ratio = p50 / direct p50)")
    for col in ("contender", "read_values 100 tags p50", "p95", "ratio", "propose_action p50", "p95", "ratio"):
        table.add_column(col, justify="right")
    base_r, base_p = (statistics.median(x) for x in results["direct (Python API)"])
    for name, (reads, props) in results.items():
        table.add_row(name, f"{statistics.median(reads):.1f}", f"{_pct(reads, 95):.1f}",
                      f"{statistics.median(reads) / base_r:.2f}x", f"{statistics.median(props):.1f}",
                      f"{_pct(props, 95):.1f}", f"{statistics.median(props) / base_p:.2f}x")
    console = Console()
    console.print(table)
    console.print(f"one ledger append (the audit record of each MCP call): p50 {statistics.median(appends):.1f} ms, "
                  f"p95 {_pct(appends, 95):.1f} ms")


if __name__ == "__main__":
    main()
