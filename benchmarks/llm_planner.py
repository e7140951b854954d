"""Benchmark: the LLM planner with real local models, against the playbook planner in the same run.

    pip install -e ".[local-llm]"
    python benchmarks/llm_planner.py --model qwen-0.5b.gguf --model qwen-1.5b.gguf          # four pilots
    python benchmarks/llm_planner.py --model qwen-0.5b.gguf --pilots mobility --scenarios vibration-drift
    python benchmarks/llm_planner.py --base-url http://gpu-box:8000/v1 --served-model qwen2.5-7b   # any server
    python benchmarks/llm_planner.py --model qwen-1.5b.gguf --modes json,tools --tools-pilots mobility

One table row per (model, mode, pilot), so the pilot a prompt was tuned on (mobility) stays apart from the
held-out ones; a ``done:`` line is printed as each row finishes.

For each model (served by ``LocalModelServer``: llama.cpp, 127.0.0.1, ``--threads`` CPU threads) and each mode
(``json`` = structured output, ``tools`` = tool calling), the pilots' scenarios are evaluated with
``--no-knowledge``; measured:

- prompt tokens per planning call, as the **server** counts them (``usage``), and time to first token (the
  server's ``prompt_ms`` for the planning-sized prompt, llama.cpp only);
- seconds per planning step (wall clock of ``Planner.plan``, retries included);
- valid-plan rate: decisions the model made itself (``llm`` + ``llm-after-retry``) / all LLM-planner decisions;
- action correctness (the harness's, judged on the proposed action) and fallback rate.

The playbook planner runs the same scenarios first as the baseline (seconds per step, action correctness); the
table prints the LLM's seconds per step as a ratio to it. Nothing is asserted: read the table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from factorypilot.agents.planners.base import Plan, PlanContext
from factorypilot.vocabulary import Event

PILOTS = ("mobility", "healthcare", "robotics", "abb")


class Timed:
    """A planner that records how long each ``plan`` call took (the graph still sees the inner planner's name
    and fallback, so the harness attributes and gates exactly as for the inner one)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.fallback = getattr(inner, "fallback", None)
        self.seconds: list[float] = []

    def knowledge_queries(self, events: list[Event], lang: str) -> list[str]:
        out: list[str] = self.inner.knowledge_queries(events, lang)
        return out

    async def plan(self, ctx: PlanContext) -> Plan:
        t = time.perf_counter()
        try:
            plan: Plan = await self.inner.plan(ctx)
            return plan
        finally:
            self.seconds.append(time.perf_counter() - t)


@dataclass
class Row:
    model: str
    mode: str
    pilot: str = ""
    scenarios: int = 0
    decisions: dict[str, int] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    action_correct: int = 0
    ttft_s: float | None = None
    errors: list[str] = field(default_factory=list)

    def add(self, counts: dict[str, int]) -> None:
        for k, v in counts.items():
            self.decisions[k] = self.decisions.get(k, 0) + v

    @property
    def llm_decisions(self) -> int:
        return sum(v for k, v in self.decisions.items() if k in ("llm", "llm-after-retry", "fallback"))

    def rate(self, *keys: str) -> float | None:
        n = self.llm_decisions
        return sum(self.decisions.get(k, 0) for k in keys) / n if n else None


def _scenario_sets(pilots: list[str], ids: list[str] | None) -> list[tuple[str, list[Path], list[str] | None]]:
    """Each pilot's own scenarios (its sector file holds the LLM scenarios too)."""
    return [(p, [], ids) for p in pilots]


async def _evaluate(pilot: str, files: list[Path], ids: list[str] | None, planner: Any, home: Path) -> Any:
    from factorypilot.pilots.evaluation.harness import aevaluate, load_scenarios, resolve_spec

    spec, path = resolve_spec(pilot)
    known = {s.id for s in load_scenarios(spec, path, files)}
    chosen = [i for i in ids if i in known] if ids else None
    if ids and not chosen:
        return None
    return await aevaluate(pilot, planner=planner, scenarios=chosen, scenario_files=files, home=home,
                           knowledge=False, plots=False)


async def _run(row: Row, planner: Any, sets: list[tuple[str, list[Path], list[str] | None]], home: Path) -> None:
    timed = Timed(planner)
    for pilot, files, ids in sets:
        try:
            report = await _evaluate(pilot, files, ids, timed, home / f"{row.model}-{row.mode}-{pilot}")
        except Exception as exc:  # a benchmark reports a broken combination and goes on
            row.errors.append(f"{pilot}: {type(exc).__name__}: {exc}")
            continue
        if report is None:
            continue
        for s in report.scores:
            row.scenarios += 1
            row.add(s.decisions)
            row.action_correct += int(s.action_correct)
            row.tokens += [int(r["payload"].get("prompt_tokens") or 0) for r in _decisions(report, s.id)]
    row.seconds += timed.seconds


def _decisions(report: Any, scenario: str) -> list[dict[str, Any]]:
    from factorypilot.agents import Ledger

    ledger = Ledger(report.out_dir / "runs" / scenario / "ledger.sqlite")
    try:
        return [{"payload": r.payload} for r in ledger.records() if r.kind == "decision"]
    finally:
        ledger.close()


async def _ttft(base_url: str, model: str) -> float | None:
    from factorypilot.agents.planners.llm_check import _speed

    try:
        _, _, ttft = await _speed(base_url, model, 600.0, None)
    except Exception:
        return None
    return ttft


def _print_row(r: Row) -> None:
    """One line as soon as a (model, mode, pilot) is done, so a long run shows progress."""
    step = statistics.median(r.seconds) if r.seconds else None
    print(f"done: {r.model} {r.mode} {r.pilot}: scenarios {r.scenarios}, decisions {r.decisions}, "
          f"s/step {_f(step, '{:.1f}')}, correct {r.action_correct}/{r.scenarios}, errors {r.errors}", flush=True)


async def bench(args: argparse.Namespace) -> tuple[Row, list[Row]]:
    from factorypilot.agents.planners.llm import LLMPlanner
    from factorypilot.agents.planners.local_server import LocalModelServer
    from factorypilot.agents.planners.playbook import PlaybookPlanner
    from factorypilot.pilots.runtime import resolve_spec
    from factorypilot.settings import get_settings

    os.environ["FACTORYPILOT_ALLOW_MODEL_REQUESTS"] = "true"
    get_settings.cache_clear()
    sets = _scenario_sets(args.pilots, args.scenarios)
    modes = args.modes
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(args.keep) if args.keep else Path(tmp)
        base = Row("playbook", "-")
        for pilot, files, ids in sets:  # the baseline: same scenarios, playbook planner
            await _run(base, PlaybookPlanner(resolve_spec(pilot)[0].playbooks), [(pilot, files, ids)], home)
        targets: list[tuple[str, str, LocalModelServer | None]] = [
            (Path(m).stem, "", LocalModelServer(m, threads=args.threads, ctx_size=4096)) for m in args.model]
        if args.base_url:
            targets.append((args.served_model, args.base_url, None))
        for name, url, server in targets:
            if server is not None:
                server.start()
                url = server.base_url
                name = server.alias
            try:
                ttft = await _ttft(url, name)
                for mode in modes:
                    for pilot, files, ids in sets:  # one row per pilot: mobility (dev) apart from the held-out
                        if args.modes_pilots.get(mode) and pilot not in args.modes_pilots[mode]:
                            continue
                        row = Row(name, mode, pilot, ttft_s=ttft)
                        spec = resolve_spec(pilot)[0]
                        planner = LLMPlanner.from_config(
                            {"provider": "openai", "model": name, "base_url": url, "mode": mode,
                             "timeout_s": args.timeout, "max_tokens": args.max_tokens, "max_retries": 1},
                            list(spec.playbooks))
                        await _run(row, planner, [(pilot, files, ids)], home)
                        rows.append(row)
                        _print_row(row)
            finally:
                if server is not None:
                    server.stop()
    return base, rows


def _f(x: float | None, fmt: str = "{:.2f}") -> str:
    return "–" if x is None else fmt.format(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", default=[], help="GGUF file to serve (repeatable)")
    parser.add_argument("--base-url", default="", help="an already running OpenAI-compatible server")
    parser.add_argument("--served-model", default="", help="model name on --base-url")
    parser.add_argument("--modes", default="json,tools", help="json, tools or both (comma-separated)")
    parser.add_argument("--pilots", default=",".join(PILOTS))
    parser.add_argument("--tools-pilots", default="", help="run tools mode only on these pilots (default: all)")
    parser.add_argument("--scenarios", default="", help="comma-separated scenario ids (default: all)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per model call")
    parser.add_argument("--max-tokens", type=int, default=400)
    parser.add_argument("--keep", default="", help="keep the evaluation reports and ledgers in this directory")
    ns = parser.parse_args()
    ns.modes = [m for m in ns.modes.split(",") if m]
    ns.pilots = [p for p in ns.pilots.split(",") if p]
    ns.modes_pilots = {"tools": [p for p in ns.tools_pilots.split(",") if p]}
    ns.scenarios = [s for s in ns.scenarios.split(",") if s] or None
    if not ns.model and not ns.base_url:
        parser.error("give --model PATH.gguf (repeatable) or --base-url URL --served-model NAME")
    base, rows = asyncio.run(bench(ns))
    base_step = statistics.median(base.seconds) if base.seconds else None
    table = Table(title=f"LLM planner vs playbook — pilots {', '.join(ns.pilots)}; {ns.threads} CPU threads")
    for col in ("planner / model", "mode", "pilot", "scenarios", "decisions", "prompt tok/call (server, median)",
                "TTFT s", "s/step (median)", "× playbook", "valid-plan rate", "action correctness", "fallback rate"):
        table.add_column(col, justify="left" if col in ("planner / model", "mode", "pilot", "decisions")
                         else "right")
    base_correct = base.action_correct / base.scenarios if base.scenarios else None
    table.add_row("playbook (baseline)", "-", "all", str(base.scenarios),
                  ", ".join(f"{k} {v}" for k, v in base.decisions.items()), "0", "–", _f(base_step, "{:.4f}"), "1",
                  "–", _f(base_correct), "–")
    for r in rows:
        step = statistics.median(r.seconds) if r.seconds else None
        tok = statistics.median([t for t in r.tokens if t]) if any(r.tokens) else None
        table.add_row(r.model, r.mode, r.pilot, str(r.scenarios), ", ".join(f"{k} {v}" for k, v in r.decisions.items()),
                      _f(tok, "{:.0f}"), _f(r.ttft_s), _f(step, "{:.1f}"),
                      _f(step / base_step if step and base_step else None, "{:.0f}"),
                      _f(r.rate("llm", "llm-after-retry")), _f(r.action_correct / r.scenarios if r.scenarios else None),
                      _f(r.rate("fallback")))
    console = Console(width=200)
    console.print(table)
    for r in rows:
        for e in r.errors:
            console.print(f"[red]{r.model} {r.mode}[/]: {e}")


if __name__ == "__main__":
    main()
