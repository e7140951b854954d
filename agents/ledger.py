"""The audit ledger: append-only, hash-chained records in SQLite.

Each record carries the SHA-256 of the previous record; its own hash covers its sequence number, time,
kind, run id, key and canonical JSON payload. ``verify`` recomputes the chain and names the first record
that was edited, deleted or moved. A separate *head file* (last sequence number and hash, written after
each append) catches truncation of the newest records, which a chain alone cannot see; a second copy of
the head lives in ``agent.sqlite``, and the two are cross-checked, so deleting or rewriting the head file
alone cannot hide a truncated tail.

Appends are idempotent by ``key``: a node that LangGraph re-runs after a crash appends the same key again
and gets the existing record back instead of a duplicate.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from factorypilot._sqlite import open_sqlite, storage_error
from factorypilot.errors import LedgerIntegrityError, StorageError

__all__ = ["GENESIS", "Ledger", "LedgerRecord", "VerifyReport"]

GENESIS = "0" * 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger (
    seq INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    kind TEXT NOT NULL,
    run_id TEXT,
    key TEXT UNIQUE,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_run ON ledger(run_id);
"""

# The second copy of the head, in another file (agent.sqlite), so a truncated ledger cannot take it along.
_ANCHOR_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger_head (ledger TEXT PRIMARY KEY, seq INTEGER NOT NULL, hash TEXT NOT NULL);
"""


def canonical(payload: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 kept (Korean stays readable in the database)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _digest(seq: int, time: str, kind: str, run_id: str | None, key: str | None, payload: str, prev: str) -> str:
    body = "\x1f".join([str(seq), time, kind, run_id or "", key or "", payload, prev])
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LedgerRecord:
    seq: int
    time: str
    kind: str
    run_id: str | None
    key: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass
class VerifyReport:
    ok: bool
    records: int
    problems: list[str] = field(default_factory=list)
    first_bad_seq: int | None = None
    notes: list[str] = field(default_factory=list)

    def raise_for_problems(self) -> None:
        if not self.ok:
            raise LedgerIntegrityError(
                f"ledger chain broken: {self.problems[0]}",
                where=f"record {self.first_bad_seq}",
                hint="restore the ledger from a backup; do not trust records from this point on",
            )


class Ledger:
    """One ledger per ``FACTORYPILOT_HOME`` (``ledger.sqlite`` + ``ledger.head``). Thread- and process-safe.

    The head (last sequence number and hash) is kept in **two** places the ledger file cannot take with it:
    the head file beside it and a row in ``anchor_db`` (by default ``agent.sqlite`` in the same directory).
    ``verify`` fails when either is missing or disagrees with the records, because then a truncated tail
    cannot be ruled out. ``readonly=True`` opens with ``mode=ro`` and never creates a file or a table.
    """

    def __init__(self, path: Path, *, readonly: bool = False, head_path: Path | None = None,
                 anchor_db: Path | bool | None = True) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self.head_path = Path(head_path) if head_path else self.path.with_suffix(".head")
        default_anchor = self.path.with_name("agent.sqlite")
        if anchor_db is True:
            self.anchor_path: Path | None = default_anchor
        else:
            self.anchor_path = Path(anchor_db) if isinstance(anchor_db, Path | str) else None
        self._lock = threading.Lock()
        self._db = open_sqlite(self.path, readonly=readonly)
        self._anchor: sqlite3.Connection | None = None
        if readonly:
            if not self._has_table(self._db, "ledger"):
                self._db.close()
                raise StorageError(f"{self.path.name} is not a factorypilot ledger (it has no ledger table)",
                                   where=str(self.path), hint="point --path at a ledger.sqlite")
            if self.anchor_path is not None and self.anchor_path.exists():
                self._anchor = open_sqlite(self.anchor_path, readonly=True)
        else:
            try:
                self._db.executescript(_SCHEMA)
            except sqlite3.Error as exc:
                raise storage_error(self.path, exc, "prepare") from exc
            if self.anchor_path is not None:
                self._anchor = open_sqlite(self.anchor_path)
                try:
                    # the second head may lag after a power loss (verify then notes "records after the head",
                    # never a false pass: a head only moves after the record is committed). Without its own
                    # fsync an append costs two (ledger, head file); the run store's next FULL commit to the
                    # same WAL makes this head durable too.
                    self._anchor.execute("PRAGMA synchronous=NORMAL")
                    self._anchor.executescript(_ANCHOR_SCHEMA)
                except sqlite3.Error as exc:
                    raise storage_error(self.anchor_path, exc, "prepare") from exc
                self._adopt_head()

    @staticmethod
    def _has_table(db: sqlite3.Connection, name: str) -> bool:
        return db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None

    def _adopt_head(self) -> None:
        """A home from before the second anchor: copy the head file into it once, if it matches the records."""
        if self._read_anchor() is not None:
            return
        head = self._read_head()
        if head is None:
            return
        row = self._db.execute("SELECT hash FROM ledger WHERE seq = ?", (head[0],)).fetchone()
        if row and row[0] == head[1]:
            self._write_anchor(*head)

    def close(self) -> None:
        with self._lock:
            self._db.close()
            if self._anchor is not None:
                self._anchor.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -----------------------------------------------------------------------------------
    def append(self, kind: str, payload: dict[str, Any], *, run_id: str | None = None,
               key: str | None = None) -> LedgerRecord:
        """Append a record (or return the existing one with the same ``key``), then move both heads."""
        if self.readonly:
            raise StorageError("this ledger was opened read-only", where=str(self.path))
        text = canonical(payload)
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")  # the key check and the insert are one transaction
            except sqlite3.Error as exc:
                raise storage_error(self.path, exc, "write to") from exc
            try:
                if key is not None:
                    existing = self._db.execute("SELECT * FROM ledger WHERE key = ?", (key,)).fetchone()
                    if existing:
                        self._db.execute("COMMIT")
                        return _row(existing)
                last = self._db.execute("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
                seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
                now = datetime.now(UTC).isoformat()
                digest = _digest(seq, now, kind, run_id, key, text, prev)
                self._db.execute(
                    "INSERT INTO ledger(seq, time, kind, run_id, key, payload, prev_hash, hash)"
                    " VALUES (?,?,?,?,?,?,?,?)", (seq, now, kind, run_id, key, text, prev, digest))
                self._db.execute("COMMIT")
            except BaseException as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise storage_error(self.path, exc, "write to") from exc
                raise
            self._write_head(seq, digest)
            self._write_anchor(seq, digest)
            return LedgerRecord(seq, now, kind, run_id, key, json.loads(text), prev, digest)

    def _write_head(self, seq: int, digest: str) -> None:
        """Move the head file forward (never back: several processes may append to one home)."""
        lock_path = self.head_path.with_suffix(".head.lock")
        try:
            with open(lock_path, "a+b") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                current = self._read_head()
                if current is not None and current[0] >= seq:
                    return
                tmp = self.head_path.with_suffix(f".head.{os.getpid()}.tmp")
                with open(tmp, "w", encoding="ascii") as f:
                    f.write(f"{seq} {digest}\n")
                    f.flush()
                    os.fsync(f.fileno())
                tmp.replace(self.head_path)
        except OSError as exc:
            raise storage_error(self.head_path, exc, "write") from exc

    def _write_anchor(self, seq: int, digest: str) -> None:
        if self._anchor is None or self.anchor_path is None:
            return
        try:
            self._anchor.execute(
                "INSERT INTO ledger_head(ledger, seq, hash) VALUES (?,?,?) ON CONFLICT(ledger) DO UPDATE SET "
                "seq=excluded.seq, hash=excluded.hash WHERE excluded.seq > ledger_head.seq",
                (self.path.name, seq, digest))
        except sqlite3.Error as exc:
            raise storage_error(self.anchor_path, exc, "write to") from exc

    # -- reading -----------------------------------------------------------------------------------
    def records(self, *, run_id: str | None = None, kind: str | None = None,
                limit: int | None = None) -> list[LedgerRecord]:
        sql, args = "SELECT * FROM ledger WHERE 1=1", []
        if run_id is not None:
            sql += " AND run_id = ?"
            args.append(run_id)
        if kind is not None:
            sql += " AND kind = ?"
            args.append(kind)
        sql += " ORDER BY seq"
        rows = self._db.execute(sql, args).fetchall()
        out = [_row(r) for r in rows]
        return out[-limit:] if limit else out

    def __iter__(self) -> Iterator[LedgerRecord]:
        return iter(self.records())

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM ledger").fetchone()[0])

    # -- verification ------------------------------------------------------------------------------
    def anchor_to(self, path: Path, key: bytes | None = None) -> dict[str, Any] | None:
        """Append the current head to the external anchor file ``path`` (signed with ``key`` if given); None
        for an empty ledger. See :mod:`factorypilot.agents._anchor`."""
        from factorypilot.agents._anchor import append_anchor

        last = self._db.execute("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
        return append_anchor(Path(path), self.path.name, int(last[0]), str(last[1]), key) if last else None

    def verify(self, *, require_anchor: bool = True, external: Path | None = None,
               key: bytes | None = None) -> VerifyReport:
        """Recompute the chain in storage order (rowid), then check the records against both heads, and
        against the external anchor file ``external`` when given (its signatures with ``key``).

        ``require_anchor=False`` accepts a ledger without its second anchor (a copied ledger with only its
        head file); the report's ``notes`` say so.
        """
        rows = self._db.execute(
            "SELECT seq, time, kind, run_id, key, payload, prev_hash, hash FROM ledger ORDER BY rowid").fetchall()
        report = VerifyReport(ok=True, records=len(rows))
        prev, expected_seq = GENESIS, 1

        def bad(seq: int, why: str) -> None:
            report.problems.append(why)
            if report.first_bad_seq is None:
                report.first_bad_seq = seq
            report.ok = False

        for seq, time, kind, run_id, record_key, payload, prev_hash, digest in rows:
            if seq != expected_seq:
                if seq > expected_seq:
                    bad(seq, f"record(s) {expected_seq}..{seq - 1} deleted (sequence jumps to {seq})")
                else:
                    bad(seq, f"record {seq} appears out of order after {expected_seq - 1}")
            if prev_hash != prev:
                bad(seq, f"record {seq} does not follow the record before it (reordered, inserted or "
                         f"a predecessor was deleted)")
            if _digest(seq, time, kind, run_id, record_key, payload, prev_hash) != digest:
                bad(seq, f"record {seq} ({kind}) was edited: its content no longer matches its hash")
            prev, expected_seq = digest, seq + 1
        by_seq = {r[0]: r[7] for r in rows}
        last = rows[-1][0] if rows else 0
        heads: list[tuple[str, tuple[int, str] | None, bool]] = [
            (f"head file {self.head_path.name}", self._read_head(), True)]
        if self.anchor_path is not None:
            heads.append((f"head in {self.anchor_path.name}", self._read_anchor(), require_anchor))
        elif require_anchor:
            heads.append(("second head", None, True))
        for where, head, required in heads:
            if head is None:
                if rows and required:
                    bad(last, f"the {where} is missing or unreadable: tail truncation can't be ruled out")
                elif rows:
                    report.notes.append(f"no {where}: checked against the head file only")
                continue
            head_seq, head_hash = head
            if head_seq > last:
                bad(head_seq, f"the newest record(s) {last + 1}..{head_seq} are missing: the ledger was "
                              f"truncated ({where} says {head_seq}, ledger has {last})")
            elif by_seq.get(head_seq) != head_hash:
                bad(head_seq, f"the {where} disagrees with record {head_seq}: records were replaced or the head "
                              f"was rewritten — tail truncation can't be ruled out")
            elif head_seq < last:
                report.notes.append(f"{last - head_seq} record(s) after the {where} (an interrupted append); "
                                    f"the next append moves it")
        if external is not None:
            from factorypilot.agents._anchor import check_anchor

            problems, notes = check_anchor(Path(external), self.path.name, by_seq, key)
            for why in problems:
                bad(last, why)
            report.notes += notes
        return report

    def _read_head(self) -> tuple[int, str] | None:
        try:
            seq, digest = self.head_path.read_text(encoding="ascii").split()
            return int(seq), digest
        except (OSError, ValueError, UnicodeDecodeError):
            return None

    def _read_anchor(self) -> tuple[int, str] | None:
        if self._anchor is None:
            return None
        try:
            r = self._anchor.execute("SELECT seq, hash FROM ledger_head WHERE ledger = ?",
                                     (self.path.name,)).fetchone()
        except sqlite3.Error:
            return None
        return (int(r[0]), str(r[1])) if r else None


def _row(r: tuple[Any, ...]) -> LedgerRecord:
    return LedgerRecord(seq=r[0], time=r[1], kind=r[2], run_id=r[3], key=r[4], payload=json.loads(r[5]),
                        prev_hash=r[6], hash=r[7])
