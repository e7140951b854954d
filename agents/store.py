"""Durable bookkeeping beside the LangGraph checkpoints: runs, the action table, approvals, work-order notes.

The **action table** is what makes side effects exactly-once: each action's idempotency key moves through
``planned → issued → confirmed | unconfirmed | failed`` (committed, fsync'd, before the next side effect; see
``_nodes_act.py``). LangGraph re-runs an interrupted node from the start, so ``act`` consults this table first and
never sends an action whose key is already ``issued``.

Approvals are stored here too, so a person can decide from another process (``factorypilot runs approve``)
while the pilot service waits; the service applies decisions by resuming the graph.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from factorypilot._sqlite import SqliteFile, storage_error
from factorypilot.agents._edits import validate_edits
from factorypilot.errors import ApprovalError

__all__ = ["ACTION_COLUMNS", "APPROVAL_COLUMNS", "RUN_COLUMNS", "ActionRow", "ApprovalRow", "RunRow", "RunStore",
           "RunSummary", "action_row", "approval_row", "run_row"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, pilot TEXT NOT NULL, status TEXT NOT NULL, created TEXT NOT NULL,
    updated TEXT NOT NULL, summary TEXT NOT NULL DEFAULT '', data TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS actions (
    key TEXT PRIMARY KEY, run_id TEXT NOT NULL, target TEXT NOT NULL, kind TEXT NOT NULL,
    request TEXT NOT NULL, state TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL, updated TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS actions_target ON actions(target, updated);
CREATE TABLE IF NOT EXISTS approvals (
    run_id TEXT PRIMARY KEY, requested TEXT NOT NULL, request TEXT NOT NULL,
    decision TEXT, decided_by TEXT, decided_at TEXT, edits TEXT, comment TEXT, applied INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS cooldowns (
    pilot TEXT NOT NULL, detector TEXT NOT NULL, fired_at REAL NOT NULL, PRIMARY KEY (pilot, detector)
);
CREATE TABLE IF NOT EXISTS notes (
    key TEXT PRIMARY KEY, run_id TEXT NOT NULL, topic TEXT NOT NULL, text TEXT NOT NULL, created TEXT NOT NULL
);
"""


# action states of homes written before write-ahead intent: 'started' may have reached the plant (never issue
# it again: read back), 'executed' did, 'verified' is 'confirmed'
_MIGRATE = """
UPDATE actions SET state = 'issued', detail = '' WHERE state = 'started';
UPDATE actions SET state = 'issued', detail = 'accepted by the plant' WHERE state = 'executed';
UPDATE actions SET state = 'confirmed' WHERE state = 'verified';
"""

_PAST = {"approve": "approved", "reject": "rejected"}


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class RunSummary:
    """A run without its data (the runs list)."""

    run_id: str
    pilot: str
    status: str
    created: str
    updated: str
    summary: str


@dataclass(frozen=True)
class RunRow(RunSummary):
    data: dict[str, Any]


@dataclass(frozen=True)
class ActionRow:
    key: str
    run_id: str
    target: str
    kind: str
    request: dict[str, Any]
    state: str
    detail: str
    updated: str


@dataclass(frozen=True)
class ApprovalRow:
    run_id: str
    requested: str
    request: dict[str, Any]
    decision: str | None
    decided_by: str | None
    decided_at: str | None
    edits: dict[str, Any]
    comment: str | None
    applied: bool


# The rows as read: one column list and one mapper per table, shared by the store and read-only readers (the
# console's company-scoped queries), so a column is added or decoded in one place.
RUN_COLUMNS = "run_id, pilot, status, created, updated, summary, data"
ACTION_COLUMNS = "key, run_id, target, kind, request, state, detail, updated"
APPROVAL_COLUMNS = "run_id, requested, request, decision, decided_by, decided_at, edits, comment, applied"


def run_row(r: Sequence[Any]) -> RunRow:
    """A row selected with :data:`RUN_COLUMNS`."""
    return RunRow(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6] or "{}"))


def action_row(r: Sequence[Any]) -> ActionRow:
    """A row selected with :data:`ACTION_COLUMNS`."""
    return ActionRow(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6], r[7])


def approval_row(r: Sequence[Any]) -> ApprovalRow:
    """A row selected with :data:`APPROVAL_COLUMNS`."""
    return ApprovalRow(r[0], r[1], json.loads(r[2]), r[3], r[4], r[5], json.loads(r[6] or "{}"), r[7], bool(r[8]))


class RunStore(SqliteFile):
    """SQLite file ``agent.sqlite`` under ``FACTORYPILOT_HOME``. Safe to share between processes (WAL)."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        super().__init__(path, _SCHEMA + _MIGRATE, readonly=readonly, make_parent=False)
        self.readonly = readonly

    # -- runs --------------------------------------------------------------------------------------
    def upsert_run(self, run_id: str, pilot: str, status: str, summary: str = "",
                   data: dict[str, Any] | None = None) -> None:
        now = _now()
        self._exec(
            "INSERT INTO runs(run_id, pilot, status, created, updated, summary, data) VALUES (?,?,?,?,?,?,?) "
            "ON CONFLICT(run_id) DO UPDATE SET status=excluded.status, updated=excluded.updated, "
            "summary=CASE WHEN excluded.summary != '' THEN excluded.summary ELSE runs.summary END, "
            "data=CASE WHEN excluded.data != '{}' THEN excluded.data ELSE runs.data END",
            (run_id, pilot, status, now, now, summary, json.dumps(data or {}, ensure_ascii=False, default=str)))

    def run(self, run_id: str) -> RunRow | None:
        r = self._exec(f"SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return run_row(r) if r else None

    def runs(self, *, status: str | None = None, limit: int = 50) -> list[RunRow]:
        sql = f"SELECT {RUN_COLUMNS} FROM runs" + (" WHERE status = ?" if status else "") + \
            " ORDER BY created DESC LIMIT ?"
        rows = self._exec(sql, (status, limit) if status else (limit,)).fetchall()
        return [run_row(r) for r in rows]

    # -- actions -----------------------------------------------------------------------------------
    def action(self, key: str) -> ActionRow | None:
        r = self._exec(f"SELECT {ACTION_COLUMNS} FROM actions WHERE key = ?", (key,)).fetchone()
        return action_row(r) if r else None

    def plan_action(self, key: str, run_id: str, target: str, kind: str, request: dict[str, Any]) -> None:
        """Record the intent (state ``planned``) before anything touches the plant. Committed, fsync'd."""
        now = _now()
        self._exec("INSERT OR IGNORE INTO actions(key, run_id, target, kind, request, state, created, updated) "
                   "VALUES (?,?,?,?,?,?,?,?)", (key, run_id, target, kind, json.dumps(request, default=str),
                                                "planned", now, now))

    def issue_action(self, key: str, note: tuple[str, str, str] | None = None) -> None:
        """``planned`` → ``issued``, committed *before* the side effect. For a work-order note the note itself
        is stored in the same transaction (``note`` = run id, topic, text), so it is issued and done at once."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute("UPDATE actions SET state='issued', detail='', updated=? WHERE key=? AND "
                                 "state='planned'", (_now(), key))
                if note is not None:
                    self._db.execute("INSERT OR IGNORE INTO notes(key, run_id, topic, text, created) "
                                     "VALUES (?,?,?,?,?)", (key, *note, _now()))
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise storage_error(self.path, exc, "write to") from exc

    def mark_action(self, key: str, state: str, detail: str = "") -> None:
        self._exec("UPDATE actions SET state = ?, detail = ?, updated = ? WHERE key = ?",
                   (state, detail, _now(), key))

    def recent_actions(self, window_s: float = 86400.0) -> list[tuple[datetime, str]]:
        """(time, target) of actions that reached the plant, for rate limits."""
        since = (datetime.now(UTC) - timedelta(seconds=window_s)).isoformat()
        rows = self._exec("SELECT updated, target FROM actions WHERE state IN ('issued','accepted','confirmed',"
                          "'failed','unconfirmed') AND updated >= ?", (since,)).fetchall()
        return [(datetime.fromisoformat(t), target) for t, target in rows]

    def actions_for(self, run_id: str) -> list[ActionRow]:
        rows = self._exec(f"SELECT {ACTION_COLUMNS} FROM actions WHERE run_id = ? ORDER BY created",
                          (run_id,)).fetchall()
        return [action_row(r) for r in rows]

    # -- approvals ---------------------------------------------------------------------------------
    def request_approval(self, run_id: str, request: dict[str, Any]) -> None:
        self._exec("INSERT OR IGNORE INTO approvals(run_id, requested, request) VALUES (?,?,?)",
                   (run_id, _now(), json.dumps(request, ensure_ascii=False, default=str)))

    def approval(self, run_id: str) -> ApprovalRow | None:
        r = self._exec(f"SELECT {APPROVAL_COLUMNS} FROM approvals WHERE run_id = ?", (run_id,)).fetchone()
        return approval_row(r) if r else None

    def decide(self, run_id: str, decision: str, by: str, *, edits: dict[str, Any] | None = None,
               comment: str = "") -> ApprovalRow:
        """Record a person's decision as one compare-and-set: exactly one of two racing deciders wins; the
        other gets :class:`ApprovalError` naming who decided first and when. Edits are checked against the
        policy snapshot stored with the request (range, step, type, index) and refused here, with the reason."""
        if decision not in ("approve", "reject"):
            raise ApprovalError(f"unknown decision {decision!r}", hint="use approve or reject")
        if not by.strip():
            raise ApprovalError("an approval needs the name of the person deciding", hint="pass --by NAME")
        current = self.approval(run_id)
        if current is None:
            raise ApprovalError(f"run {run_id!r} is not waiting for approval",
                                hint="list waiting runs with: factorypilot runs list --status waiting_approval")
        if edits:
            if decision != "approve":
                raise ApprovalError("only an approval can edit values", hint="drop --set, or approve instead")
            edits = validate_edits(current.request, edits)
        cur = self._exec("UPDATE approvals SET decision=?, decided_by=?, decided_at=?, edits=?, comment=? "
                         "WHERE run_id=? AND decision IS NULL",
                         (decision, by, _now(), json.dumps(edits or {}, default=str), comment, run_id))
        row = self.approval(run_id)
        assert row is not None
        if cur.rowcount != 1:
            raise ApprovalError(f"run {run_id!r} was already {_PAST.get(row.decision or '', row.decision)} by "
                                f"{row.decided_by} at {(row.decided_at or '')[:19]}",
                                hint="nothing was changed; see: factorypilot runs show " + run_id)
        return row

    def undecided_applied(self) -> list[ApprovalRow]:
        """Decided but not yet applied to the graph (the service resumes these)."""
        rows = self._exec("SELECT run_id FROM approvals WHERE decision IS NOT NULL AND applied = 0").fetchall()
        return [a for (rid,) in rows if (a := self.approval(rid)) is not None]

    def mark_applied(self, run_id: str) -> None:
        self._exec("UPDATE approvals SET applied = 1 WHERE run_id = ?", (run_id,))

    # -- detector cool-downs (survive a restart) ----------------------------------------------------
    def cooldowns(self, pilot: str) -> dict[str, float]:
        rows = self._exec("SELECT detector, fired_at FROM cooldowns WHERE pilot = ?", (pilot,)).fetchall()
        return {str(k): float(t) for k, t in rows}

    def set_cooldown(self, pilot: str, detector: str, fired_at: float) -> None:
        self._exec("INSERT INTO cooldowns(pilot, detector, fired_at) VALUES (?,?,?) ON CONFLICT(pilot, detector) "
                   "DO UPDATE SET fired_at = excluded.fired_at", (pilot, detector, fired_at))

    def finished_runs_beyond(self, keep: int, pilot: str | None = None) -> list[str]:
        """Run ids of finished runs older than the newest ``keep`` (what checkpoint retention may drop)."""
        sql = ("SELECT run_id FROM runs WHERE status IN ('done','no_event','attention','failed')"
               + (" AND pilot = ?" if pilot else "") + " ORDER BY created DESC LIMIT -1 OFFSET ?")
        rows = self._exec(sql, (pilot, keep) if pilot else (keep,)).fetchall()
        return [r[0] for r in rows]

    # -- work-order notes --------------------------------------------------------------------------
    def add_note(self, key: str, run_id: str, topic: str, text: str) -> None:
        self._exec("INSERT OR IGNORE INTO notes(key, run_id, topic, text, created) VALUES (?,?,?,?,?)",
                   (key, run_id, topic, text, _now()))

    def note(self, key: str) -> tuple[str, str] | None:
        r = self._exec("SELECT topic, text FROM notes WHERE key = ?", (key,)).fetchone()
        return (r[0], r[1]) if r else None

    def notes(self, run_id: str | None = None) -> list[dict[str, str]]:
        sql = "SELECT key, run_id, topic, text, created FROM notes" + (" WHERE run_id = ?" if run_id else "")
        rows = self._exec(sql + " ORDER BY created", (run_id,) if run_id else ()).fetchall()
        return [dict(zip(("key", "run_id", "topic", "text", "created"), r, strict=True)) for r in rows]
