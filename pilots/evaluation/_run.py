"""Running one scenario: the pilot against the simulator, and the no-agent baseline of the same scenario.

How a scenario runs (deterministic given the seed; no wall-clock sleeps):

* the simulator runs with ``realtime=False``; the harness advances it one tick at a time (``sim.step()``);
* after each tick the harness reads the observed tags **over OPC-UA** (the pilot's real connector), appends them
  to a rolling window and feeds its own copies of the pilot's detectors — exactly what ``AgentRuntime.monitor``
  does with a subscription. When a detector fires (and its cool-down has passed) the harness calls
  ``AgentRuntime.handle(window)``: the whole graph runs (observe → … → act → verify → report) while the plant
  stands still, so the agent's writes land before the next tick;
* the harness also subscribes to the plant's alarm events (OPC UA A&C) — for the pilot's ``kind: alarm``
  detectors and for the ISA-18.2 alarm statistics of the report; after each tick the harness waits until the
  client has received the state of every simulator condition (a barrier, not a sleep), so an alarm-driven run
  starts on the same tick every time;
* a run that asks for approval is decided at once by the harness (``approve`` by default) as the recorded
  approver ``eval-harness`` and counted;
* while the server is down (COMMS_DROP) a tick is a gap: recorded, nothing is run (no read is attempted — it
  could only fail, slowly); when the server is back the harness waits for the connector to reconnect;
* the **baseline** steps the same plant (same model, seed, faults and replay) with no server and no agent.

Both produce a :class:`Trace`: the values the simulator published each tick (ground truth, not what the agent
saw), the accepted writes, gaps, and for the agent the run reports and the ledger records.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factorypilot.agents import AgentRuntime, Planner
from factorypilot.agents.runtime_deps import Retriever
from factorypilot.agents.trigger import EventTrigger
from factorypilot.connectors.registry import create
from factorypilot.errors import ConfigError, FactoryPilotError
from factorypilot.pilots.evaluation._replay import load_replay, replaying
from factorypilot.pilots.evaluation.scenarios import Scenario
from factorypilot.pilots.simulator import Fault, FaultKind, PlantModel, PlantSimulator, available_models
from factorypilot.pilots.spec import PilotSpec
from factorypilot.vocabulary import AlarmEvent, Gap, Sample, Scalar

__all__ = ["APPROVER", "RunRecord", "Trace", "run_agent", "run_baseline"]

log = logging.getLogger("factorypilot.pilots.eval")

APPROVER = "eval-harness"


@dataclass
class RunRecord:
    tick: int
    run_id: str
    status: str
    report: dict[str, Any]
    approval: str | None = None


@dataclass
class Trace:
    scenario: str
    mode: str
    tick_seconds: float
    initial: dict[str, Scalar]
    values: list[dict[str, Scalar]] = field(default_factory=list)
    writes: list[tuple[int, str, Scalar]] = field(default_factory=list)
    gaps: list[int] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)
    ledger: list[dict[str, Any]] = field(default_factory=list)
    ledger_ok: bool = True
    bindings: dict[str, str] = field(default_factory=dict)
    alarms: list[tuple[int, AlarmEvent]] = field(default_factory=list)
    """(tick, state) of every plant alarm event the client received (for the ISA-18.2 statistics)"""


def _model(spec: PilotSpec, scenario: Scenario) -> str | PlantModel:
    if spec.simulator is None:
        raise ConfigError(f"pilot {spec.id!r} has no simulator section; scenarios need a simulated plant",
                          hint="add 'simulator: {model: <name>, seed: 0, tick_seconds: 0.1}' to the spec")
    if scenario.replay is None:
        return spec.simulator.model
    models = available_models()
    if spec.simulator.model not in models:
        raise ConfigError(f"unknown simulator model {spec.simulator.model!r}", where=f"scenario {scenario.id}",
                          hint=f"available: {', '.join(models)}")
    frames = load_replay(scenario.replay, scenario.duration_ticks)
    return replaying(models[spec.simulator.model], frames)


def _simulator(spec: PilotSpec, scenario: Scenario) -> PlantSimulator:
    assert spec.simulator is not None or scenario.replay is None
    model = _model(spec, scenario)
    assert spec.simulator is not None
    seed = spec.simulator.seed if scenario.seed is None else scenario.seed
    sim = PlantSimulator(model, seed=seed, tick_seconds=spec.simulator.tick_seconds, realtime=False)
    for f in scenario.faults:
        if f.role is not None and f.role not in sim.engine.signals:
            raise ConfigError(f"fault on unknown role {f.role!r}", where=f"scenario {scenario.id}",
                              hint=f"roles of model {sim.model_name!r}: {', '.join(sim.engine.signals)}")
        sim.inject(Fault(FaultKind(f.kind), f.role, start_tick=f.start, duration_ticks=f.duration,
                         magnitude=f.magnitude))
    return sim


async def run_baseline(spec: PilotSpec, scenario: Scenario) -> Trace:
    """The same plant, seed, faults and replay — no server, no agent, no actions."""
    sim = _simulator(spec, scenario)
    trace = Trace(scenario.id, "baseline", sim.tick_seconds, dict(sim.engine.published))
    for _ in range(scenario.duration_ticks):
        sim.engine.tick()
        trace.values.append(dict(sim.engine.published))
    return trace


async def _read(connector: Any, ids: list[str], sim: PlantSimulator, retry_s: float = 15.0) -> list[Sample] | None:
    """Samples, or None for a gap (server down). If the server is up, wait for the client to reconnect."""
    if not sim.running:
        return None  # the server is down (COMMS_DROP): a read can only fail, and waiting for it costs seconds
    loop = asyncio.get_running_loop()
    deadline = loop.time() + retry_s
    while True:
        try:
            samples: list[Sample] = await connector.read(ids)
            return samples
        except FactoryPilotError as exc:
            if not sim.running:
                log.debug("gap at tick %d: %s", sim.tick_index, exc)
                return None
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.05)


class _AlarmFeed:
    """The plant's alarm events for the harness, with a barrier on the simulator's own condition states."""

    def __init__(self, connector: Any, sim: PlantSimulator) -> None:
        self.sim = sim
        self.pending: list[AlarmEvent] = []
        self.seen: dict[str, tuple[bool, bool, bool]] = {}
        self.arrived = asyncio.Event()
        self._task = asyncio.create_task(self._pump(connector))

    async def _pump(self, connector: Any) -> None:
        async with contextlib.aclosing(connector.events()) as stream:
            async for item in stream:
                if isinstance(item, AlarmEvent) and item.branch_id is None:
                    self.pending.append(item)
                    self.seen[item.condition_id] = (item.active, item.acked, item.confirmed)
                    self.arrived.set()
                elif isinstance(item, Gap):
                    log.debug("alarm events: %s", item.reason)

    def _caught_up(self) -> bool:
        return all(self.seen.get(c.condition_id.to_string(), (False, True, True)) == (c.active, c.acked, c.confirmed)
                   for c in self.sim.alarms.conditions.values())

    async def drain(self, timeout_s: float = 10.0) -> list[AlarmEvent]:
        """The alarm events received since the last drain, once they include the plant's current states."""
        if self.sim.running:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout_s
            while not self._caught_up() and not self._task.done() and loop.time() < deadline:
                self.arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.arrived.wait(), max(0.0, deadline - loop.time()))
            if self._task.done():
                self._task.result()  # the event subscription failed: raise its error
        out, self.pending = self.pending, []
        return out

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def run_agent(spec: PilotSpec, scenario: Scenario, *, home: Path, planner: Planner | None = None,
                    retriever: Retriever | None = None, approvals: str = "approve") -> Trace:
    """The pilot on the simulated plant over OPC-UA, driven tick by tick (see the module docstring)."""
    sim = _simulator(spec, scenario)
    decision = scenario.approvals or approvals
    async with sim:
        bindings = spec.simulator_bindings(sim.roles(), sim.method_ids())
        config = spec.agent_config(bindings)
        trace = Trace(scenario.id, "agent", sim.tick_seconds, dict(sim.engine.published), bindings=bindings)
        connector_cfg = {"endpoint": sim.endpoint, "timeout_s": 2.0, "reconnect_max_delay_s": 1.0,
                         "watchdog_interval_s": 0.2}
        tag_meta = spec.tag_meta(bindings)
        if scenario.inject is not None:
            retriever = _Planted(scenario.inject.document, scenario.inject.citation, retriever)
            for role, text in scenario.inject.tags.items():
                tid = bindings.get(role)
                if tid in tag_meta:
                    tag_meta[tid] = tag_meta[tid].model_copy(update={"description": text})
        async with create("opcua", connector_cfg) as connector, \
                AgentRuntime(config, connector, home=home, planner=planner, retriever=retriever,
                             tag_meta=tag_meta) as rt:
            ids = rt.deps.observed_tag_ids()
            trigger = EventTrigger(config, ids, window_size=rt.window_size, cooldown=scenario.cooldown_ticks)
            feed = _AlarmFeed(connector, sim) if sim.alarms.conditions else None
            try:
                for tick in range(scenario.duration_ticks):
                    await sim.step(1)
                    trace.values.append(dict(sim.engine.published))
                    if tick < scenario.warmup_ticks:
                        continue
                    samples = await _read(connector, ids, sim)
                    if samples is None:
                        trace.gaps.append(tick)
                        continue
                    for s in samples:
                        trigger.add(s)
                    for alarm in await feed.drain() if feed is not None else []:
                        trace.alarms.append((tick, alarm))
                        trigger.add_alarm(alarm)  # ignored unless the pilot has kind: alarm detectors
                    if trigger.due(tick):  # the same trigger logic as the pilot service (AgentRuntime.monitor)
                        trace.runs.append(await _handle(rt, trigger.window(), tick, decision,
                                                        trigger.alarm_window()))
            finally:
                if feed is not None:
                    await feed.close()
            trace.writes = [(t - 1, role, v) for t, role, v in sim.write_log]
            trace.ledger = [{"seq": r.seq, "kind": r.kind, "run_id": r.run_id, "key": r.key, "payload": r.payload}
                            for r in rt.ledger.records()]
            trace.ledger_ok = rt.ledger.verify().ok
    return trace


async def _handle(rt: AgentRuntime, window: dict[str, list[Sample]], tick: int, decision: str,
                  alarms: list[AlarmEvent] | None = None) -> RunRecord:
    outcome = await rt.handle(window, alarms=alarms)
    approval = None
    while outcome.status == "waiting_approval":
        approval = decision
        outcome = await rt.resume(outcome.run_id, decision, by=APPROVER,
                                  comment="decided automatically by the evaluation harness")
    return RunRecord(tick, outcome.run_id, outcome.status, outcome.report or {}, approval)


class _Planted:
    """The pilot's retriever with one planted document first (an injection scenario's untrusted text)."""

    def __init__(self, text: str | None, citation: str, inner: Retriever | None) -> None:
        self.text, self.citation, self.inner = text, citation, inner

    async def search(self, query: str, k: int = 3) -> list[dict[str, Any]]:
        hits = await self.inner.search(query, k) if self.inner is not None else []
        planted = [{"text": self.text, "citation": self.citation}] if self.text else []
        return planted + [h for h in hits if h.get("citation") != self.citation][: max(k - len(planted), 0)]
