"""Benchmark: building the simulator's address space in bulk vs asyncua's node-by-node ``add_variable``.

    python benchmarks/simulator_build.py            # 3,000 tags (mobility scale=200)
    python benchmarks/simulator_build.py --quick    # 1,005 tags (scale=67)

Contenders (same run, same machine, each on a fresh asyncua Server after ``init()``):
- baseline: ``await parent.add_variable(...)`` once per tag, server side (in-process, no network) —
  variables only, no engineering-unit properties, so it creates fewer nodes than the simulator
- factorypilot: the whole ISA-95 tree + variables + EngineeringUnits/EURange properties + methods as one
  AddNodes batch (what ``PlantSimulator.start`` does)
Also reported: one simulation tick over all tags (compute + publish), the server's own throughput limit.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from asyncua import Server, ua
from rich.console import Console
from rich.table import Table

from factorypilot.pilots.mobility.plant import MobilityModel
from factorypilot.pilots.simulator import PlantSimulator
from factorypilot.pilots.simulator._address_space import build_items
from factorypilot.pilots.simulator._engine import PlantEngine


async def baseline(tags: int) -> float:
    server = Server()
    await server.init()
    ns = await server.register_namespace("urn:bench")
    folder = await server.nodes.objects.add_folder(ua.NodeId("bench", ns), "Bench")
    t = time.perf_counter()
    for i in range(tags):
        await folder.add_variable(ua.NodeId(f"bench.v{i}", ns), f"V{i}", 0.0)
    return time.perf_counter() - t


async def bulk(scale: int) -> tuple[float, int, int]:
    engine = PlantEngine(MobilityModel, seed=0, scale=scale)
    server = Server()
    await server.init()
    ns = await server.register_namespace("urn:bench")
    t = time.perf_counter()
    items, layout = build_items(MobilityModel, scale, engine.published, ns)
    results = await server.iserver.isession.add_nodes(items)
    elapsed = time.perf_counter() - t
    assert all(r.StatusCode.is_good() for r in results)
    return elapsed, len(layout.variables), len(items)


async def tick_cost(scale: int, ticks: int) -> float:
    async with PlantSimulator(seed=0, realtime=False, scale=scale) as sim:
        await sim.step(2)
        t = time.perf_counter()
        await sim.step(ticks)
        return (time.perf_counter() - t) / ticks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,005 tags instead of 3,000")
    args = parser.parse_args()
    scale = 67 if args.quick else 200
    tags = scale * len(MobilityModel.signals)
    console = Console()
    console.print(f"building {tags} tags ({scale} lines) …")
    base = asyncio.run(baseline(tags))
    fast, variables, nodes = asyncio.run(bulk(scale))
    per_tick = asyncio.run(tick_cost(scale, 20))
    table = Table(title=f"address-space build, {variables} tags")
    for col in ("contender", "nodes created", "seconds", "tags/s", "nodes/s", "time vs baseline"):
        table.add_column(col, justify="right" if col != "contender" else "left")
    table.add_row("asyncua add_variable, one by one (baseline)", str(tags), f"{base:.2f}", f"{tags / base:,.0f}",
                  f"{tags / base:,.0f}", "1.00x")
    table.add_row("factorypilot bulk AddNodes (+ units, ranges, tree)", str(nodes), f"{fast:.2f}",
                  f"{variables / fast:,.0f}", f"{nodes / fast:,.0f}", f"{fast / base:.2f}x")
    console.print(table)
    console.print(f"one tick over {variables} tags (model + publish): {per_tick * 1000:.1f} ms")


if __name__ == "__main__":
    main()
