"""``AgentRuntime``: compiles the graph with a durable checkpointer and runs it — once, or as a service.

* ``handle(window)`` runs one pass for a window of samples (thread id = run id).
* ``resume(run_id, answer)`` continues a run waiting for approval; ``recover()`` finishes runs a crash
  interrupted and applies approvals decided from another process (``factorypilot runs approve``).
* ``monitor()`` is continuous mode: subscribe to the observed tags, keep a rolling window, and start a run
  when a detector fires (with a cool-down per detector), until ``stop()`` or SIGTERM.

Checkpoints: SQLite (``FACTORYPILOT_HOME/checkpoints.sqlite``) by default; a ``postgresql://`` URL selects
the Postgres saver (``pip install "factorypilot[postgres]"``). Durability is ``sync``: a step's checkpoint
is on disk before the next step starts, so after ``kill -9`` at most the step in flight re-runs. The file is
checked when the runtime starts (a corrupted one fails there, not at the first event), and checkpoints of
finished runs beyond the newest ``keep_runs`` are dropped (``factorypilot runs prune`` does it on demand).

One owner: entering the runtime takes the pilot's lease in ``agent.sqlite`` (see ``_lease.py``); a second
service for the same pilot and home refuses to start. A run whose plant cannot be reached is parked as
``waiting_for_plant`` and retried with back-off; it never crashes the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from factorypilot._sqlite import open_sqlite, storage_error
from factorypilot.agents._lease import PilotLease
from factorypilot.agents.config import AgentConfig
from factorypilot.agents.graph import AgentState, build_graph
from factorypilot.agents.ledger import Ledger
from factorypilot.agents.planners.base import Planner
from factorypilot.agents.planners.playbook import PlaybookPlanner
from factorypilot.agents.runtime_deps import Retriever, RuntimeDeps
from factorypilot.agents.safety import Guard
from factorypilot.agents.store import RunStore
from factorypilot.connectors.base import BaseConnector
from factorypilot.errors import ApprovalError, ConnectionError_, DependencyMissing
from factorypilot.settings import get_settings
from factorypilot.vocabulary import AlarmEvent, Sample, Tag

__all__ = ["AgentRuntime", "RunOutcome", "prune_checkpoints"]

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
                 rehearsal: tuple[BaseConnector[Any], dict[str, str]] | None = None,
                 lease: bool = True, keep_runs: int = 500) -> None:
        self.config = config
        self.connector = connector
        self.home = Path(home or get_settings().home)
        self.planner: Planner = planner or PlaybookPlanner(config.playbooks)
        self.retriever = retriever
        self.tag_meta = tag_meta or {}
        self.checkpointer_url = checkpointer_url or get_settings().checkpointer_url
        self.window_size = window_size
        self.rehearsal = rehearsal
        self.use_lease = lease
        self.keep_runs = keep_runs
        self.lease: PilotLease | None = None
        self._saver: Any = None
        self._stack = contextlib.AsyncExitStack()
        self._stop = asyncio.Event()
        self.ledger: Ledger
        self.store: RunStore

    # -- lifecycle ---------------------------------------------------------------------------------
    async def __aenter__(self) -> AgentRuntime:
        try:
            return await self._enter()
        except BaseException:
            await self._stack.aclose()  # a refused start releases what it took (lease, files)
            raise

    async def _enter(self) -> AgentRuntime:
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise storage_error(self.home, exc, "create the home directory") from exc
        self.store = RunStore(self.home / "agent.sqlite")
        self._stack.callback(self.store.close)
        if self.use_lease:
            self.lease = PilotLease(self.home / "agent.sqlite", self.config.name)
            self._stack.callback(self.lease.release)
            self.lease.acquire()
        self.ledger = Ledger(self.home / "ledger.sqlite", anchor_db=self.home / "agent.sqlite")
        self._stack.callback(self.ledger.close)
        saver = await self._stack.enter_async_context(self._checkpointer())
        self._saver = saver
        self.deps = RuntimeDeps(config=self.config, connector=self.connector,
                                guard=Guard(self.config.policy, self.config.roles), planner=self.planner,
                                ledger=self.ledger, store=self.store, retriever=self.retriever,
                                tag_meta=self.tag_meta, rehearsal=self.rehearsal[0] if self.rehearsal else None,
                                rehearsal_roles=self.rehearsal[1] if self.rehearsal else {})
        self.graph = build_graph(self.deps).compile(checkpointer=saver)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

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
        _check_checkpoints(Path(path))
        return AsyncSqliteSaver.from_conn_string(path)

    # -- running -----------------------------------------------------------------------------------
    def _cfg(self, run_id: str) -> RunnableConfig:
        return {"configurable": {"thread_id": run_id}}

    async def _invoke(self, run_id: str, payload: AgentState | Command[Any] | None) -> RunOutcome:
        try:
            result = await self.graph.ainvoke(payload, self._cfg(run_id), durability="sync")
        except ConnectionError_ as exc:
            # the plant is unreachable: park the run; the node in flight re-runs when the link is back (an
            # action already issued is then read back, never issued again)
            self.store.upsert_run(run_id, self.config.name, "waiting_for_plant", summary=f"waiting for the plant: "
                                  f"{exc.message}")
            self.ledger.append("waiting-for-plant", {"error": str(exc)}, run_id=run_id, key=f"{run_id}:waiting")
            log.info("run %s waits for the plant: %s", run_id, exc.message)
            return RunOutcome(run_id, "waiting_for_plant")
        interrupts = result.get("__interrupt__") if isinstance(result, dict) else None
        if interrupts:
            return RunOutcome(run_id, "waiting_approval", waiting=interrupts[0].value, state=result)
        outcome = RunOutcome(run_id, result.get("status", "done"), report=result.get("report"), state=result)
        await self._retain()
        settings = get_settings()
        if settings.ledger_anchor is not None:  # the head, after every finished run, to a place outside the home
            self.ledger.anchor_to(settings.ledger_anchor, settings.ledger_key_bytes())
        return outcome

    async def handle(self, window: dict[str, list[Sample]] | None = None, *, run_id: str | None = None,
                     event: str | None = None, alarms: list[AlarmEvent] | None = None) -> RunOutcome:
        """Run the graph once over ``window`` (tag id → recent samples, oldest first) and the recent plant
        ``alarms`` (oldest first; what ``kind: alarm`` detectors look at)."""
        run_id = run_id or f"{self.config.name}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        self.store.upsert_run(run_id, self.config.name, "running", data={"event": event} if event else None)
        state: AgentState = {"run_id": run_id, "window": {k: [s.model_dump(mode="json") for s in v]
                                                          for k, v in (window or {}).items()}}
        if alarms:
            state["alarms"] = [a.model_dump(mode="json") for a in alarms]
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
        snap = await self.graph.aget_state(self._cfg(run_id))
        if snap.interrupts:
            outcome = await self._invoke(run_id, Command(resume=answer))
        else:  # the answer was consumed before a crash or an outage: continue from the checkpoint
            outcome = await self._invoke(run_id, None)
        self.store.mark_applied(run_id)
        return outcome

    async def recover(self, statuses: tuple[str, ...] = ("running", "waiting_for_plant")) -> list[RunOutcome]:
        """Finish what a crash, a restart or an outage left: runs still 'running' or 'waiting_for_plant', and
        decided approvals."""
        outcomes = []
        for run in [r for st in statuses for r in self.store.runs(status=st, limit=1000)]:
            if run.pilot == self.config.name:
                outcomes.append(await self.continue_run(run.run_id))
        for row in self.store.undecided_applied():
            waiting = self.store.run(row.run_id)
            if waiting and waiting.pilot == self.config.name:
                outcomes.append(await self._apply(row.run_id))
        return outcomes

    async def continue_run(self, run_id: str) -> RunOutcome:
        """Continue one interrupted run from its checkpoint (the node in flight runs again)."""
        snap = await self.graph.aget_state(self._cfg(run_id))
        if snap.interrupts:  # parked while waiting for a person: apply the decision if there is one
            row = self.store.approval(run_id)
            if row is not None and row.decision is not None and not row.applied:
                return await self._apply(run_id)
            self.store.upsert_run(run_id, self.config.name, "waiting_approval")
            return RunOutcome(run_id, "waiting_approval", waiting=snap.interrupts[0].value)
        if snap.next:
            log.info("resuming interrupted run %s at %s", run_id, snap.next)
            self.store.upsert_run(run_id, self.config.name, "running")
            return await self._invoke(run_id, None)
        if not snap.values:  # died before the first checkpoint: nothing happened, start over
            return await self._invoke(run_id, {"run_id": run_id, "window": {}})
        status = snap.values.get("status", "done")
        self.store.upsert_run(run_id, self.config.name, status)
        return RunOutcome(run_id, status, report=snap.values.get("report"), state=snap.values)

    async def reissue(self, run_id: str, *, by: str) -> RunOutcome:
        """A person's re-issue of actions a run left ``unconfirmed`` or ``failed``: a **new** run that asks for
        approval again (whatever the policy says), then acts with a new idempotency key after the guard checked
        the actions on fresh values. The old run and its record stay as they are."""
        old = self.store.run(run_id)
        if old is None or old.pilot != self.config.name:
            raise ApprovalError(f"no run {run_id!r} of pilot {self.config.name!r}", hint="see: factorypilot runs list")
        rows = [a for a in self.store.actions_for(run_id) if a.state in ("unconfirmed", "failed")]
        if not rows:
            raise ApprovalError(f"run {run_id!r} has no unconfirmed or failed action to re-issue",
                                hint=f"see: factorypilot runs show {run_id}")
        new_id = f"{run_id}-reissue-{uuid.uuid4().hex[:4]}"
        requests = [dict(a.request) | {"requested_by": f"re-issued by {by} (from {run_id})"} for a in rows]
        self.store.upsert_run(new_id, self.config.name, "running", data={"reissue_of": run_id})
        self.ledger.append("reissue", {"of": run_id, "by": by, "actions": requests}, run_id=new_id,
                           key=f"{new_id}:reissue")
        snap = await self.graph.aget_state(self._cfg(run_id))
        events = (snap.values or {}).get("events") or [{"tag_id": r["target"], "message": f"re-issue of {run_id}",
                                                        "severity": "warning"} for r in requests]
        values = {"run_id": new_id, "window": {}, "events": events, "knowledge": [], "attempts": 1,
                  "plan": {"diagnosis": f"re-issue of {run_id} requested by {by}", "actions": requests,
                           "planner": "person"},
                  "decisions": [{"request": r, "decision": {"allowed": True, "needs_approval": True,
                                                            "reasons": [], "rule": "re-issue"}} for r in requests]}
        await self.graph.aupdate_state(self._cfg(new_id), values, as_node="guard")
        return await self._invoke(new_id, None)

    def pending(self) -> list[str]:
        return [r.run_id for r in self.store.runs(status="waiting_approval", limit=1000)
                if r.pilot == self.config.name]

    # -- retention ---------------------------------------------------------------------------------
    async def _retain(self) -> None:
        if self.keep_runs > 0:
            await self.prune(self.keep_runs)

    async def prune(self, keep: int) -> int:
        """Drop the checkpoints of finished runs beyond the newest ``keep`` (runs, actions and the ledger stay)."""
        old = self.store.finished_runs_beyond(keep, self.config.name)
        delete = getattr(self._saver, "adelete_thread", None)
        if delete is None:
            return 0
        for run_id in old:
            await delete(run_id)
        return len(old)

    # -- continuous mode ---------------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()

    async def monitor(self, *, period: float = 0.5, cooldown_s: float = 30.0, max_runs: int | None = None,
                      approval_poll_s: float = 1.0) -> list[RunOutcome]:
        """Watch the plant and handle events as they come, until ``stop()`` or ``max_runs`` runs."""
        from factorypilot.agents._monitor import monitor

        return await monitor(self, period=period, cooldown_s=cooldown_s, max_runs=max_runs,
                             approval_poll_s=approval_poll_s)


def _check_checkpoints(path: Path) -> None:
    """Fail at start-up, naming the file, when ``checkpoints.sqlite`` is corrupted or unusable."""
    db = open_sqlite(path)
    try:
        if db.execute("SELECT 1 FROM sqlite_master WHERE name='checkpoints'").fetchone():
            db.execute("SELECT 1 FROM checkpoints LIMIT 1").fetchone()
    except sqlite3.Error as exc:
        raise storage_error(path, exc, "read checkpoints from") from exc
    finally:
        db.close()


def prune_checkpoints(path: Path, run_ids: list[str]) -> tuple[int, int, int]:
    """Delete the checkpoints of ``run_ids`` from a SQLite checkpoint file and compact it.
    Returns (runs dropped, bytes before, bytes after)."""
    if not path.exists():
        return 0, 0, 0
    before = path.stat().st_size
    db = open_sqlite(path)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        for table in ("checkpoints", "writes"):
            if table in tables:
                db.executemany(f"DELETE FROM {table} WHERE thread_id = ?", [(r,) for r in run_ids])
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("VACUUM")
    except sqlite3.Error as exc:
        raise storage_error(path, exc, "prune") from exc
    finally:
        db.close()
    return len(run_ids), before, path.stat().st_size
