"""``AgentRuntime``: compiles the graph with a durable checkpointer and runs it — once, or as a service.

* ``handle(window)`` runs one pass for a window of samples (thread id = run id).
* ``resume(run_id, answer)`` continues a run waiting for approval; ``recover()`` finishes runs a crash
  interrupted and applies approvals decided from another process (``factorypilot runs approve``).
* ``monitor()`` is continuous mode: subscribe to the observed tags, keep a rolling window, and start a run
  when a detector fires (with a cool-down per detector), until ``stop()`` or SIGTERM.

Checkpoints: SQLite (``FACTORYPILOT_HOME/checkpoints.sqlite``) by default; a ``postgresql://`` URL selects
the Postgres saver (``pip install "factorypilot[postgres]"``). Durability is ``sync``: a step's checkpoint
is on disk before the next step starts, so after ``kill -9`` at most the step in flight re-runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from factorypilot.agents.config import AgentConfig
from factorypilot.agents.graph import AgentState, build_graph
from factorypilot.agents.ledger import Ledger
from factorypilot.agents.planners.base import Planner
from factorypilot.agents.planners.playbook import PlaybookPlanner
from factorypilot.agents.runtime_deps import Retriever, RuntimeDeps
from factorypilot.agents.safety import Guard
from factorypilot.agents.store import RunStore
from factorypilot.agents.trigger import EventTrigger
from factorypilot.connectors.base import BaseConnector
from factorypilot.errors import ApprovalError, DependencyMissing
from factorypilot.settings import get_settings
from factorypilot.vocabulary import Gap, Sample, Tag

__all__ = ["AgentRuntime", "RunOutcome"]

log = logging.getLogger("factorypilot.agents")


@dataclass
class RunOutcome:
    run_id: str
    status: str
    report: dict[str, Any] | None = None
    waiting: dict[str, Any] | None = None
    state: dict[str, Any] = field(default_factory=dict)


class AgentRuntime:
    def __init__(self, config: AgentConfig, connector: BaseConnector[Any], *, home: Path | None = None,
                 planner: Planner | None = None, retriever: Retriever | None = None,
                 tag_meta: dict[str, Tag] | None = None, checkpointer_url: str | None = None,
                 window_size: int = 120,
                 rehearsal: tuple[BaseConnector[Any], dict[str, str]] | None = None) -> None:
        self.config = config
        self.connector = connector
        self.home = Path(home or get_settings().home)
        self.planner: Planner = planner or PlaybookPlanner(config.playbooks)
        self.retriever = retriever
        self.tag_meta = tag_meta or {}
        self.checkpointer_url = checkpointer_url or get_settings().checkpointer_url
        self.window_size = window_size
        self.rehearsal = rehearsal
        self._stack = contextlib.AsyncExitStack()
        self._stop = asyncio.Event()
        self.ledger: Ledger
        self.store: RunStore

    # -- lifecycle ---------------------------------------------------------------------------------
    async def __aenter__(self) -> AgentRuntime:
        self.home.mkdir(parents=True, exist_ok=True)
        self.ledger = Ledger(self.home / "ledger.sqlite")
        self.store = RunStore(self.home / "agent.sqlite")
        saver = await self._stack.enter_async_context(self._checkpointer())
        self.deps = RuntimeDeps(config=self.config, connector=self.connector,
                                guard=Guard(self.config.policy, self.config.roles), planner=self.planner,
                                ledger=self.ledger, store=self.store, retriever=self.retriever,
                                tag_meta=self.tag_meta, rehearsal=self.rehearsal[0] if self.rehearsal else None,
                                rehearsal_roles=self.rehearsal[1] if self.rehearsal else {})
        self.graph = build_graph(self.deps).compile(checkpointer=saver)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()
        self.ledger.close()
        self.store.close()

    def _checkpointer(self) -> contextlib.AbstractAsyncContextManager[Any]:
        url = self.checkpointer_url
        if url and url.startswith(("postgres://", "postgresql://")):
            try:
                from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
            except ImportError as exc:
                raise DependencyMissing("langgraph-checkpoint-postgres", "postgres",
                                        feature="the Postgres checkpointer") from exc

            @contextlib.asynccontextmanager
            async def pg() -> Any:
                async with AsyncPostgresSaver.from_conn_string(url) as saver:
                    await saver.setup()
                    yield saver
            return pg()
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        path = url.removeprefix("sqlite:///") if url else str(self.home / "checkpoints.sqlite")
        return AsyncSqliteSaver.from_conn_string(path)

    # -- running -----------------------------------------------------------------------------------
    def _cfg(self, run_id: str) -> RunnableConfig:
        return {"configurable": {"thread_id": run_id}}

    async def _invoke(self, run_id: str, payload: AgentState | Command[Any] | None) -> RunOutcome:
        result = await self.graph.ainvoke(payload, self._cfg(run_id), durability="sync")
        interrupts = result.get("__interrupt__") if isinstance(result, dict) else None
        if interrupts:
            return RunOutcome(run_id, "waiting_approval", waiting=interrupts[0].value, state=result)
        return RunOutcome(run_id, result.get("status", "done"), report=result.get("report"), state=result)

    async def handle(self, window: dict[str, list[Sample]] | None = None, *, run_id: str | None = None) -> RunOutcome:
        """Run the graph once over ``window`` (tag id → recent samples, oldest first)."""
        run_id = run_id or f"{self.config.name}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        self.store.upsert_run(run_id, self.config.name, "running")
        state: AgentState = {"run_id": run_id, "window": {k: [s.model_dump(mode="json") for s in v]
                                                          for k, v in (window or {}).items()}}
        return await self._invoke(run_id, state)

    async def resume(self, run_id: str, decision: str, *, by: str, edits: dict[str, Any] | None = None,
                     comment: str = "") -> RunOutcome:
        """Record a decision (if not yet recorded) and continue the run."""
        row = self.store.approval(run_id)
        if row is None:
            raise ApprovalError(f"run {run_id!r} is not waiting for approval")
        if row.decision is None:
            row = self.store.decide(run_id, decision, by, edits=edits, comment=comment)
        return await self._apply(run_id)

    async def _apply(self, run_id: str) -> RunOutcome:
        row = self.store.approval(run_id)
        if row is None or row.decision is None:
            raise ApprovalError(f"run {run_id!r} has no decision to apply")
        answer = {"decision": row.decision, "by": row.decided_by, "at": row.decided_at, "edits": row.edits,
                  "comment": row.comment or ""}
        outcome = await self._invoke(run_id, Command(resume=answer))
        self.store.mark_applied(run_id)
        return outcome

    async def recover(self) -> list[RunOutcome]:
        """Finish what a crash or a restart left: runs still 'running', and decided approvals."""
        outcomes = []
        for run in self.store.runs(status="running", limit=1000):
            if run.pilot != self.config.name:
                continue
            snap = await self.graph.aget_state(self._cfg(run.run_id))
            if snap.next:
                log.info("resuming interrupted run %s at %s", run.run_id, snap.next)
                outcomes.append(await self._invoke(run.run_id, None))
            elif not snap.values:  # died before the first checkpoint: nothing happened, start over
                outcomes.append(await self._invoke(run.run_id, {"run_id": run.run_id, "window": {}}))
        for row in self.store.undecided_applied():
            waiting = self.store.run(row.run_id)
            if waiting and waiting.pilot == self.config.name:
                outcomes.append(await self._apply(row.run_id))
        return outcomes

    def pending(self) -> list[str]:
        return [r.run_id for r in self.store.runs(status="waiting_approval", limit=1000)
                if r.pilot == self.config.name]

    # -- continuous mode ---------------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()

    async def monitor(self, *, period: float = 0.5, cooldown_s: float = 30.0, max_runs: int | None = None,
                      approval_poll_s: float = 1.0) -> list[RunOutcome]:
        """Watch the plant and handle events as they come, until ``stop()`` or ``max_runs`` runs."""
        outcomes = await self.recover()
        ids = self.deps.observed_tag_ids()
        trigger = EventTrigger(self.config, ids, window_size=self.window_size, cooldown=cooldown_s)
        loop = asyncio.get_running_loop()
        next_poll = loop.time()
        # The subscription is drained by its own task into a queue: a timeout on the queue must not cancel the
        # subscription's generator (``wait_for(anext(stream))`` would close it on the first quiet second).
        queue: asyncio.Queue[Sample | Gap] = asyncio.Queue()

        async def pump() -> None:
            async with contextlib.aclosing(self.connector.subscribe(ids, period=period)) as stream:
                async for sample in stream:
                    queue.put_nowait(sample)

        pump_task = asyncio.create_task(pump(), name=f"{self.config.name}-subscription")
        try:
            while not self._stop.is_set() and (max_runs is None or len(outcomes) < max_runs):
                if pump_task.done():
                    pump_task.result()  # the subscription failed: raise its error
                    break
                try:
                    item: Sample | Gap | None = await asyncio.wait_for(queue.get(), timeout=approval_poll_s)
                except TimeoutError:
                    item = None
                if loop.time() >= next_poll:
                    next_poll = loop.time() + approval_poll_s
                    for row in self.store.undecided_applied():
                        run = self.store.run(row.run_id)
                        if run and run.pilot == self.config.name:
                            outcomes.append(await self._apply(row.run_id))
                if isinstance(item, Gap):
                    self.ledger.append("gap", item.model_dump(mode="json"))
                elif item is not None:
                    trigger.add(item)
                if trigger.due(loop.time()):
                    outcomes.append(await self.handle(trigger.window()))
        finally:
            pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump_task
        return outcomes
