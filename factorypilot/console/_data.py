"""Read-only, company-scoped queries over ``agent.sqlite`` and ``ledger.sqlite`` for the console pages.

Every query takes a :class:`Scope` and puts it in its ``WHERE`` clause (``pilot IN (...)``, or for the ledger
``run_id IN (runs of those pilots)``), so a page or a URL can never return a row of another firm: a run of
firm B looks exactly like a run that does not exist. Decisions do not go through here — they take the one
compare-and-set path, :meth:`factorypilot.agents.RunStore.decide` (see ``_decide.py``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factorypilot._sqlite import storage_error
from factorypilot.agents.store import (
    ACTION_COLUMNS,
    APPROVAL_COLUMNS,
    RUN_COLUMNS,
    RunSummary,
    action_row,
    approval_row,
    run_row,
)

__all__ = ["LedgerRow", "RunSummary", "Scope", "ledger_rows", "pending_approvals", "run_detail", "runs_page",
           "visible_run"]


@dataclass(frozen=True)
class Scope:
    """``pilots=None``: every pilot (programme staff); otherwise exactly these pilot ids (maybe none)."""

    pilots: tuple[str, ...] | None

    def sql(self, column: str) -> tuple[str, tuple[str, ...]]:
        if self.pilots is None:
            return "1=1", ()
        if not self.pilots:
            return "0=1", ()
        return f"{column} IN ({','.join('?' * len(self.pilots))})", self.pilots


@dataclass(frozen=True)
class LedgerRow:
    seq: int
    time: str
    kind: str
    run_id: str | None
    payload: dict[str, Any]
    hash: str
    prev_hash: str


@contextmanager
def _ro(path: Path) -> Iterator[sqlite3.Connection | None]:
    """A read-only connection (``mode=ro``: never creates the file), or ``None`` when there is no file yet."""
    if not path.exists():
        yield None
        return
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error as exc:
        raise storage_error(path, exc, "open") from exc
    try:
        yield db
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):  # a home where no pilot has run yet
            raise _Empty from exc
        raise storage_error(path, exc, "read") from exc
    finally:
        db.close()


class _Empty(Exception):
    pass


def runs_page(home: Path, scope: Scope, *, status: str | None = None, pilot: str | None = None,
              query: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[RunSummary], int]:
    """Runs newest first with filters, and the total count for paging."""
    where, args = scope.sql("pilot")
    extra: list[Any] = list(args)
    if status:
        where += " AND status = ?"
        extra.append(status)
    if pilot:
        where += " AND pilot = ?"
        extra.append(pilot)
    if query:
        where += " AND (run_id LIKE ? OR summary LIKE ?)"
        extra += [f"%{query}%", f"%{query}%"]
    try:
        with _ro(home / "agent.sqlite") as db:
            if db is None:
                return [], 0
            total = db.execute(f"SELECT COUNT(*) FROM runs WHERE {where}", extra).fetchone()[0]
            rows = db.execute(f"SELECT run_id, pilot, status, created, updated, summary FROM runs WHERE {where} "
                              "ORDER BY created DESC, run_id DESC LIMIT ? OFFSET ?", [*extra, limit, offset]).fetchall()
    except _Empty:
        return [], 0
    return [RunSummary(*r) for r in rows], int(total)


def pending_approvals(home: Path, scope: Scope, *, limit: int = 100) -> list[dict[str, Any]]:
    """Requests without a decision, oldest first, each with its run and the run's retrieval citations."""
    where, args = scope.sql("r.pilot")
    try:
        with _ro(home / "agent.sqlite") as db:
            if db is None:
                return []
            rows = db.execute(
                "SELECT a.run_id, a.requested, a.request, r.pilot, r.status FROM approvals a JOIN runs r "
                f"ON r.run_id = a.run_id WHERE a.decision IS NULL AND {where} ORDER BY a.requested LIMIT ?",
                [*args, limit]).fetchall()
    except _Empty:
        return []
    return [{"run_id": r[0], "requested": r[1], "request": json.loads(r[2]), "pilot": r[3], "status": r[4]}
            for r in rows]


def run_detail(home: Path, scope: Scope, run_id: str) -> dict[str, Any] | None:
    """One run (``None`` when it does not exist *or belongs to another firm*): the run
    (:class:`~factorypilot.agents.store.RunRow`), its approval (``ApprovalRow`` or ``None``) and its actions
    (``ActionRow``), read with the store's own column lists and row mappers."""
    where, args = scope.sql("pilot")
    try:
        with _ro(home / "agent.sqlite") as db:
            if db is None:
                return None
            r = db.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ? AND {where}",
                           [run_id, *args]).fetchone()
            if r is None:
                return None
            a = db.execute(f"SELECT {APPROVAL_COLUMNS} FROM approvals WHERE run_id = ?", (run_id,)).fetchone()
            acts = db.execute(f"SELECT {ACTION_COLUMNS} FROM actions WHERE run_id = ? ORDER BY created",
                              (run_id,)).fetchall()
    except _Empty:
        return None
    run = run_row(r)
    return {"run": run, "data": run.data, "approval": None if a is None else approval_row(a),
            "actions": [action_row(x) for x in acts]}


def ledger_rows(home: Path, scope: Scope, *, run_id: str | None = None, kind: str | None = None,
                seq_from: int | None = None, seq_to: int | None = None, limit: int | None = 100,
                newest_first: bool = True) -> list[LedgerRow]:
    """Ledger records the scope may see. Records of no run (programme-wide ones) are visible to staff only."""
    ledger, agent = home / "ledger.sqlite", home / "agent.sqlite"
    if not ledger.exists():
        return []
    where, args = "1=1", list[str | int]()
    if scope.pilots is not None:
        if not agent.exists() or not scope.pilots:
            return []
        runs_where, runs_args = scope.sql("pilot")
        if run_id is not None:  # one run: one primary-key lookup instead of the firm's whole run list
            runs_where += " AND run_id = ?"
            runs_args = (*runs_args, run_id)
        where = f"run_id IN (SELECT run_id FROM a.runs WHERE {runs_where})"
        args += list(runs_args)
    for cond, value in (("run_id = ?", run_id), ("kind = ?", kind), ("seq >= ?", seq_from), ("seq <= ?", seq_to)):
        if value is not None:
            where += f" AND {cond}"
            args.append(value)
    order = "DESC" if newest_first else "ASC"
    lim = f" LIMIT {int(limit)}" if limit else ""
    try:
        with _ro(ledger) as db:
            assert db is not None
            if agent.exists():
                db.execute("ATTACH DATABASE ? AS a", (f"file:{agent}?mode=ro",))
            rows = db.execute(f"SELECT seq, time, kind, run_id, payload, hash, prev_hash FROM ledger WHERE {where} "
                              f"ORDER BY seq {order}{lim}", args).fetchall()
    except _Empty:
        return []
    return [LedgerRow(s, t, k, r, json.loads(p), h, ph) for s, t, k, r, p, h, ph in rows]


def visible_run(home: Path, scope: Scope, run_id: str | None) -> bool:
    """Whether a ledger record's run is in the scope (``None`` = a programme-wide record: staff only)."""
    if scope.pilots is None:
        return True
    if run_id is None:
        return False
    return run_detail(home, scope, run_id) is not None
