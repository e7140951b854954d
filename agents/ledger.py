"""The audit ledger: append-only, hash-chained records in SQLite.

Each record carries the SHA-256 of the previous record; its own hash covers its sequence number, time,
kind, run id, key and canonical JSON payload. ``verify`` recomputes the chain and names the first record
that was edited, deleted or moved. A separate *head file* (last sequence number and hash, written after
each append) catches truncation of the newest records, which a chain alone cannot see.

Appends are idempotent by ``key``: a node that LangGraph re-runs after a crash appends the same key again
and gets the existing record back instead of a duplicate.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from factorypilot.errors import LedgerIntegrityError

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

    def raise_for_problems(self) -> None:
        if not self.ok:
            raise LedgerIntegrityError(
                f"ledger chain broken: {self.problems[0]}",
                where=f"record {self.first_bad_seq}",
                hint="restore the ledger from a backup; do not trust records from this point on",
            )


class Ledger:
    """One ledger per ``FACTORYPILOT_HOME`` (``ledger.sqlite`` + ``ledger.head``). Thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.head_path = self.path.with_suffix(".head")
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -----------------------------------------------------------------------------------
    def append(self, kind: str, payload: dict[str, Any], *, run_id: str | None = None,
               key: str | None = None) -> LedgerRecord:
        """Append a record (or return the existing one with the same ``key``)."""
        text = canonical(payload)
        with self._lock:
            if key is not None:
                existing = self._db.execute("SELECT * FROM ledger WHERE key = ?", (key,)).fetchone()
                if existing:
                    return _row(existing)
            self._db.execute("BEGIN IMMEDIATE")
            try:
                last = self._db.execute("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
                seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
                now = datetime.now(UTC).isoformat()
                digest = _digest(seq, now, kind, run_id, key, text, prev)
                self._db.execute(
                    "INSERT INTO ledger(seq, time, kind, run_id, key, payload, prev_hash, hash)"
                    " VALUES (?,?,?,?,?,?,?,?)", (seq, now, kind, run_id, key, text, prev, digest))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._write_head(seq, digest)
            return LedgerRecord(seq, now, kind, run_id, key, json.loads(text), prev, digest)

    def _write_head(self, seq: int, digest: str) -> None:
        tmp = self.head_path.with_suffix(".head.tmp")
        tmp.write_text(f"{seq} {digest}\n", encoding="ascii")
        tmp.replace(self.head_path)

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
    def verify(self) -> VerifyReport:
        """Recompute the chain in storage order (rowid) and compare with sequence numbers and the head file."""
        rows = self._db.execute(
            "SELECT seq, time, kind, run_id, key, payload, prev_hash, hash FROM ledger ORDER BY rowid").fetchall()
        report = VerifyReport(ok=True, records=len(rows))
        prev, expected_seq = GENESIS, 1

        def bad(seq: int, why: str) -> None:
            report.problems.append(why)
            if report.first_bad_seq is None:
                report.first_bad_seq = seq
            report.ok = False

        for seq, time, kind, run_id, key, payload, prev_hash, digest in rows:
            if seq != expected_seq:
                if seq > expected_seq:
                    bad(seq, f"record(s) {expected_seq}..{seq - 1} deleted (sequence jumps to {seq})")
                else:
                    bad(seq, f"record {seq} appears out of order after {expected_seq - 1}")
            if prev_hash != prev:
                bad(seq, f"record {seq} does not follow the record before it (reordered, inserted or "
                         f"a predecessor was deleted)")
            if _digest(seq, time, kind, run_id, key, payload, prev_hash) != digest:
                bad(seq, f"record {seq} ({kind}) was edited: its content no longer matches its hash")
            prev, expected_seq = digest, seq + 1
        head = self._read_head()
        if head is not None:
            head_seq, head_hash = head
            if head_seq > len(rows) or (rows and head_seq == rows[-1][0] and head_hash != rows[-1][7]):
                bad(head_seq, f"the newest record(s) up to {head_seq} are missing or replaced "
                              f"(head file says {head_seq}, ledger has {len(rows)})")
        return report

    def _read_head(self) -> tuple[int, str] | None:
        try:
            seq, digest = self.head_path.read_text(encoding="ascii").split()
            return int(seq), digest
        except (FileNotFoundError, ValueError):
            return None


def _row(r: tuple[Any, ...]) -> LedgerRecord:
    return LedgerRecord(seq=r[0], time=r[1], kind=r[2], run_id=r[3], key=r[4], payload=json.loads(r[5]),
                        prev_hash=r[6], hash=r[7])
