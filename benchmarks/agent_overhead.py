"""Benchmark: the agent runtime's overhead over a raw LangGraph graph, and prompt tokens per planning step.

    python benchmarks/agent_overhead.py            # 150 runs per contender, 10,000-tag plant
    python benchmarks/agent_overhead.py --quick    # 60 runs per contender
    TMPDIR=/dev/shm python benchmarks/agent_overhead.py   # without the disk's fsync cost (tmpfs)

Part 1 — runs/s, no model (playbook planner), one full pass per run on an in-memory plant: observe → detect →
plan → guard → act (a real write) → verify (read-back) → report, ledger and action table on SQLite:
- baseline: the *same node functions* (``graph._Nodes``) in a hand-built ``StateGraph``, compiled with the
  checkpointer, ``ainvoke`` with LangGraph's default durability;
- baseline-sync: the same, with ``durability="sync"`` (what the runtime uses: a step's checkpoint is on disk
  before the next step starts), to separate the durability cost from the runtime's own;
- factorypilot: ``AgentRuntime.handle`` (run row, crash-hook wrappers, ``durability="sync"``).
Each with ``InMemorySaver`` and with the SQLite saver. Contenders take turns run by run (rotating order).

Part 2 — prompt tokens per planning step for a 10,000-tag plant: ``LLMPlanner`` + ``FakeChatModel`` (usage
reported with the tokenizer-free estimate), the runtime's ``tag_meta`` holding all 10,000 tags; baseline: the
same tag lines for the whole plant (what "put the plant in the prompt" would cost). Goal ≤ 2,000.

Part 3 — ledger appends/s: the chain alone (no head anywhere; baseline) vs the chain with the head file vs
the chain with both heads (head file + the copy in ``agent.sqlite``, what a pilot uses). Interleaved in
blocks of 10 appends. Shows what anchoring the tail costs per append (fsyncs on this disk).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph
from rich.console import Console
from rich.table import Table

from factorypilot.agents import AgentConfig, AgentRuntime, SafetyPolicy, TagRule, load_playbooks
from factorypilot.agents.detectors import ThresholdConfig
from factorypilot.agents.graph import AgentState, _Nodes
from factorypilot.agents.ledger import Ledger
from factorypilot.agents.planners._llm_prompt import _tag_line, estimate_tokens
from factorypilot.agents.planners.llm import LLMPlanner
from factorypilot.agents.planners.playbook import PlaybookPlanner
from factorypilot.agents.runtime_deps import RuntimeDeps
from factorypilot.agents.safety import Guard
from factorypilot.agents.store import RunStore
from factorypilot.connectors import InMemoryConnector
from factorypilot.testing import FakeChatModel, tool_call
from factorypilot.vocabulary import DataType, Limits, Sample, Tag

ROLES = {"spindle_vibration": "cnc1.vib", "feed_override": "cnc1.feed", "door_open": "cnc1.door",
         "spindle_speed": "cnc1.speed", "coolant_temp": "cnc1.coolant"}
PILOT_TAGS = [
    Tag(id="cnc1.vib", name="주축 진동", unit="mm/s", data_type=DataType.FLOAT),
    Tag(id="cnc1.feed", name="이송 오버라이드", unit="%", data_type=DataType.FLOAT, writable=True,
        limits=Limits(low=0, high=120)),
    Tag(id="cnc1.door", name="도어 열림", data_type=DataType.BOOLEAN),
    Tag(id="cnc1.speed", name="주축 회전수", unit="rpm", data_type=DataType.FLOAT, writable=True),
    Tag(id="cnc1.coolant", name="절삭유 온도", unit="°C", data_type=DataType.FLOAT),
]
VALUES: dict[str, Any] = {"cnc1.vib": 5.5, "cnc1.feed": 100.0, "cnc1.door": False, "cnc1.speed": 3000.0,
                          "cnc1.coolant": 24.0}
PLAYBOOKS = [{"id": "vibration-high", "when": {"role": "spindle_vibration", "severity": "warning"},
              "diagnosis": {"en": "Spindle vibration high", "ko": "주축 진동 상승"},
              "actions": [{"write": "feed_override", "delta": -15, "floor": 60, "reason": "reduce load"}]}]


def config() -> AgentConfig:
    return AgentConfig(
        name="bench", roles=ROLES, detectors=[ThresholdConfig(role="spindle_vibration", high=4.0, persist=2)],
        playbooks=load_playbooks(PLAYBOOKS),
        policy=SafetyPolicy(name="bench", tags=[TagRule(target="feed_override", min=50, max=110, max_step=20)]),
        verify={"attempts": 2, "interval_s": 0.0, "timeout_s": 0.0})  # type: ignore[arg-type]


def plant(extra: int = 0) -> InMemoryConnector:
    tags = PILOT_TAGS + [Tag(id=f"plant.line{i // 500}.sig{i}", name=f"라인{i // 500} 신호 {i}", unit="bar",
                             data_type=DataType.FLOAT) for i in range(extra)]
    values = VALUES | {t.id: 1.0 for t in tags[len(PILOT_TAGS):]}
    return InMemoryConnector(InMemoryConnector.Config(tags=tags, values=values))


def window() -> dict[str, list[Sample]]:
    return {"cnc1.vib": [Sample(tag_id="cnc1.vib", value=v) for v in (5.0, 5.5)]}


def raw_graph(deps: RuntimeDeps) -> StateGraph[AgentState]:
    """The same node functions, wired by hand with plain LangGraph (no runtime, no wrappers)."""
    n = _Nodes(deps)
    g: StateGraph[AgentState] = StateGraph(AgentState)
    for name in ("observe", "detect", "retrieve", "plan", "guard", "approve", "act", "verify", "report"):
        g.add_node(name, getattr(n, name))
    g.add_edge(START, "observe")
    g.add_edge("observe", "detect")
    g.add_conditional_edges("detect", lambda s: "retrieve" if s.get("events") else "report", ["retrieve", "report"])
    g.add_edge("retrieve", "plan")
    g.add_conditional_edges("plan", lambda s: "guard" if (s.get("plan") or {}).get("actions") else "report",
                            ["guard", "report"])
    g.add_conditional_edges("guard", n.after_guard, ["plan", "approve"])
    g.add_edge("approve", "act")
    g.add_edge("act", "verify")
    g.add_edge("verify", "report")
    g.add_edge("report", END)
    return g


@contextlib.asynccontextmanager
async def saver(kind: str, home: Path) -> AsyncIterator[Any]:
    if kind == "memory":
        yield InMemorySaver()
    else:
        async with AsyncSqliteSaver.from_conn_string(str(home / "checkpoints.sqlite")) as s:
            yield s


Runner = Callable[[int], Awaitable[None]]


@contextlib.asynccontextmanager
async def baseline_runner(kind: str, home: Path, conn: InMemoryConnector,
                          durability: Any = None) -> AsyncIterator[Runner]:
    cfg = config()
    ledger, store = Ledger(home / "ledger.sqlite"), RunStore(home / "agent.sqlite")
    deps = RuntimeDeps(config=cfg, connector=conn, guard=Guard(cfg.policy, cfg.roles),
                       planner=PlaybookPlanner(cfg.playbooks), ledger=ledger, store=store)
    async with saver(kind, home) as s:
        graph = raw_graph(deps).compile(checkpointer=s)

        async def one(i: int) -> None:
            conn.set_value("cnc1.feed", 100.0)
            state: AgentState = {"run_id": f"raw-{i}", "window": {k: [x.model_dump(mode="json") for x in v]
                                                                  for k, v in window().items()}}
            cfg: Any = {"configurable": {"thread_id": f"raw-{i}"}}
            out = await (graph.ainvoke(state, cfg, durability=durability) if durability
                         else graph.ainvoke(state, cfg))
            assert out["status"] == "done", out.get("report")

        yield one
    ledger.close()
    store.close()


def baseline_sync(kind: str, home: Path, conn: InMemoryConnector) -> contextlib.AbstractAsyncContextManager[Runner]:
    return baseline_runner(kind, home, conn, durability="sync")


@contextlib.asynccontextmanager
async def runtime_runner(kind: str, home: Path, conn: InMemoryConnector) -> AsyncIterator[Runner]:
    async with AgentRuntime(config(), conn, home=home) as rt:
        if kind == "memory":  # the runtime only offers durable savers; swap in the in-memory one for this row
            from factorypilot.agents.graph import build_graph

            rt.graph = build_graph(rt.deps).compile(checkpointer=InMemorySaver())

        async def one(i: int) -> None:
            conn.set_value("cnc1.feed", 100.0)
            out = await rt.handle(window(), run_id=f"rt-{i}")
            assert out.status == "done", out.report

        yield one


Factory = Callable[[str, Path, InMemoryConnector], contextlib.AbstractAsyncContextManager[Runner]]
CONTENDERS: list[tuple[str, Factory]] = [
    ("baseline", baseline_runner), ("baseline-sync", baseline_sync), ("factorypilot", runtime_runner)]


async def throughput(runs: int) -> dict[tuple[str, str], float]:
    """Runs/s per (saver, contender). Contenders take turns run by run (rotating order), so a busy machine
    slows them alike instead of whichever block happened to run during the busy minute."""
    rates: dict[tuple[str, str], float] = {}
    conn = plant()
    async with conn:
        for kind in ("memory", "sqlite"):
            async with contextlib.AsyncExitStack() as stack:
                runners = []
                for who, factory in CONTENDERS:
                    tmp = stack.enter_context(tempfile.TemporaryDirectory())
                    runners.append((who, await stack.enter_async_context(factory(kind, Path(tmp), conn))))
                for i in range(5):  # warm-up
                    for _, one in runners:
                        await one(-1 - i)
                spent = dict.fromkeys((w for w, _ in runners), 0.0)
                for i in range(runs):
                    for who, one in runners[i % 3:] + runners[:i % 3]:
                        t = time.perf_counter()
                        await one(i)
                        spent[who] += time.perf_counter() - t
                rates |= {(kind, who): runs / t for who, t in spent.items()}
    return rates


def scripted_llm(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage:
    return AIMessage("", tool_calls=[tool_call(
        "propose_plan", diagnosis="spindle vibration high: lower feed",
        actions=[{"kind": "write", "target": "feed_override", "value": 85, "reason": "reduce cutting load"}])])


async def prompt_tokens(tags: int) -> tuple[int, int, int]:
    conn = plant(extra=tags - len(PILOT_TAGS))
    meta = {t.id: t for t in conn.config.tags}
    fake = FakeChatModel(function=scripted_llm)
    cfg = config()
    with tempfile.TemporaryDirectory() as tmp:
        async with conn, AgentRuntime(cfg, conn, home=Path(tmp), planner=LLMPlanner(fake), tag_meta=meta) as rt:
            out = await rt.handle(window())
            assert out.status == "done", out.report
            decision = next(r for r in rt.ledger.records(run_id=out.run_id) if r.kind == "decision")
            selected = int(decision.payload["prompt_tokens"])
    whole = estimate_tokens("\n".join(_tag_line(t.id, None, t, VALUES.get(t.id, 1.0), "en") for t in meta.values()))
    return selected, whole, len(meta)


def ledger_appends(n: int) -> dict[str, float]:
    """Appends/s per ledger variant, interleaved in blocks of 10 so a busy machine slows them alike."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        variants: dict[str, Ledger] = {}
        for name, anchor in (("chain only", None), ("chain + head file", None), ("chain + both heads", True)):
            d = root / name.replace(" ", "_").replace("+", "p")
            d.mkdir()
            if anchor:
                RunStore(d / "agent.sqlite")  # the home's run store, as in a pilot
            variants[name] = Ledger(d / "ledger.sqlite", anchor_db=anchor)
        if hasattr(variants["chain only"], "_write_head"):  # the baseline keeps no head file at all
            variants["chain only"]._write_head = lambda seq, digest: None  # type: ignore[method-assign]
        spent = dict.fromkeys(variants, 0.0)
        for block in range(n // 10):
            for name, led in variants.items():
                t = time.perf_counter()
                for i in range(10):
                    led.append("observation", {"block": block, "i": i, "values": VALUES})
                spent[name] += time.perf_counter() - t
        for led in variants.values():
            led.close()
    return {name: (n // 10 * 10) / t for name, t in spent.items()}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="fewer runs (60 per contender)")
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--tags", type=int, default=10_000)
    args = ap.parse_args()
    runs = args.runs or (60 if args.quick else 150)
    console = Console()
    console.print(f"agent overhead: {runs} runs per contender, interleaved, homes under {tempfile.gettempdir()} ...")
    best = await throughput(runs)
    table = Table(title="Agent runtime vs raw LangGraph (same node functions, no model)")
    for col in ("saver", "raw runs/s", "raw sync runs/s", "runtime runs/s", "overhead ×", "× vs sync", "goal"):
        table.add_column(col, justify="right" if col != "saver" else "left")
    for kind in ("memory", "sqlite"):
        base, sync, ours = (best[(kind, w)] for w in ("baseline", "baseline-sync", "factorypilot"))
        ratio = base / ours
        table.add_row("InMemorySaver" if kind == "memory" else "SQLite", f"{base:.1f}", f"{sync:.1f}", f"{ours:.1f}",
                      f"{ratio:.2f}", f"{sync / ours:.2f}", "[green]≤ 1.2[/]" if ratio <= 1.2 else "[red]> 1.2[/]")
    console.print(table)
    selected, whole, n = await prompt_tokens(args.tags)
    t2 = Table(title=f"Prompt tokens per planning step, {n:,}-tag plant (tokenizer-free estimate)")
    for col in ("prompt", "tokens", "vs whole plant", "goal"):
        t2.add_column(col, justify="right" if col != "prompt" else "left")
    t2.add_row("baseline: whole plant", f"{whole:,}", "1.00", "")
    t2.add_row("LLMPlanner (selected)", f"{selected:,}", f"{selected / whole:.4f}",
               "[green]≤ 2,000[/]" if selected <= 2000 else "[red]> 2,000[/]")
    console.print(t2)
    rates = ledger_appends(200 if args.quick else 500)
    t3 = Table(title="Ledger appends/s (synchronous=FULL on this disk)")
    for col in ("ledger", "appends/s", "× vs chain only"):
        t3.add_column(col, justify="right" if col != "ledger" else "left")
    for name, rate in rates.items():
        t3.add_row(name, f"{rate:,.0f}", f"{rates['chain only'] / rate:.2f}")
    console.print(t3)


if __name__ == "__main__":
    asyncio.run(main())
