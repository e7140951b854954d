"""Benchmark: what one evaluation scenario costs, against the no-agent baseline of the same scenario.

    python benchmarks/eval_harness.py            # every mobility scenario, 3 rounds
    python benchmarks/eval_harness.py --quick    # vibration-drift and normal-run, 1 round

Per scenario, measured in the same run:
- baseline: the simulator engine stepped alone (no server, no agent) — the no-agent run the harness scores against;
- harness: ``run_agent`` — an asyncua server, an OPC UA read of the observed tags every tick, detectors, and the
  full agent graph (SQLite checkpoints, ledger) whenever a detector fires.
Reported: wall seconds (median of rounds), ticks/s, cost vs baseline, and simulated seconds per wall second (how
much faster than real time the scenario is evaluated; the plant's tick is 0.1 s).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from factorypilot.pilots.evaluation._run import run_agent, run_baseline
from factorypilot.pilots.evaluation.harness import load_scenarios
from factorypilot.pilots.runtime import resolve_spec


async def measure(ids: list[str] | None, rounds: int) -> list[tuple[str, int, float, float, int]]:
    spec, path = resolve_spec("mobility")
    scenarios = [s for s in load_scenarios(spec, path) if ids is None or s.id in ids]
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        await run_agent(spec, scenarios[0], home=Path(tmp) / "warm-up")  # asyncua's first address space load
        for sc in scenarios:
            base, agent, runs = [], [], 0
            for r in range(rounds):
                t = time.perf_counter()
                await run_baseline(spec, sc)
                base.append(time.perf_counter() - t)
                t = time.perf_counter()
                trace = await run_agent(spec, sc, home=Path(tmp) / f"{sc.id}-{r}")
                agent.append(time.perf_counter() - t)
                runs = len(trace.runs)
            out.append((sc.id, sc.duration_ticks, statistics.median(base), statistics.median(agent), runs))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="two scenarios, one round")
    args = parser.parse_args()
    ids = ["vibration-drift", "normal-run"] if args.quick else None
    rows = asyncio.run(measure(ids, 1 if args.quick else 3))
    table = Table(title="evaluation cost per scenario (mobility, tick = 0.1 s)")
    for col in ("scenario", "ticks", "agent runs", "baseline s", "harness s", "harness ticks/s", "vs baseline",
                "× real time"):
        table.add_column(col, justify="left" if col == "scenario" else "right")
    for sid, ticks, base, agent, runs in rows:
        table.add_row(sid, str(ticks), str(runs), f"{base:.3f}", f"{agent:.2f}", f"{ticks / agent:,.0f}",
                      f"{agent / base:,.0f}x", f"{ticks * 0.1 / agent:.1f}x")
    total_ticks = sum(r[1] for r in rows)
    total_base, total_agent = sum(r[2] for r in rows), sum(r[3] for r in rows)
    table.add_row("total", str(total_ticks), str(sum(r[4] for r in rows)), f"{total_base:.3f}", f"{total_agent:.2f}",
                  f"{total_ticks / total_agent:,.0f}", f"{total_agent / total_base:,.0f}x",
                  f"{total_ticks * 0.1 / total_agent:.1f}x")
    Console().print(table)


if __name__ == "__main__":
    main()
