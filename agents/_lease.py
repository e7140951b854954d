"""One owner per pilot and home: a lease row in ``agent.sqlite`` with a heartbeat.

``PilotLease.acquire`` is one ``BEGIN IMMEDIATE`` transaction: it takes the lease when nobody holds it, when
the holder's heartbeat is older than ``ttl_s`` (a dead owner on another machine), or when the holder ran on
this host and its process is gone (``kill -9``: taken over at once). A process is identified by its PID *and*
its start time (``/proc/<pid>/stat``), so a PID the system reused for another process within ``ttl_s`` does
not keep a dead owner's lease. Otherwise it raises
:class:`~factorypilot.errors.LeaseHeldError` naming the holder's PID and host. The owner renews the heartbeat
(``renew``) and learns there if the lease was taken from it. Different pilots hold different rows, so they
share a home safely.

The running service also records where its plant is (:meth:`PilotLease.advertise`: the OPC UA endpoint and
the role → tag bindings it runs with), so a reader such as the console can watch the same plant without being
told again; :func:`read_leases` reads the rows without writing. The row, and with it the endpoint, goes when
the service stops. Older homes gain the columns on the next start (``ALTER TABLE … ADD COLUMN``, like
``started``); a reader of an older home sees no endpoint.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from factorypilot._sqlite import open_sqlite, storage_error
from factorypilot.errors import LeaseHeldError

__all__ = ["LeaseInfo", "PilotLease", "read_leases"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS leases (
    pilot TEXT PRIMARY KEY, owner TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL,
    acquired TEXT NOT NULL, heartbeat TEXT NOT NULL, started TEXT, endpoint TEXT, bindings TEXT
);
"""
_ADDED = {"started": "TEXT", "endpoint": "TEXT", "bindings": "TEXT"}
"""Columns added after the first layout, with their types: an older home gains them on the next start."""


def _start_time(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, ``/proc/<pid>/stat`` field 22); None where there
    is no procfs (the PID alone is then the identity)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may hold spaces: split after its closing one
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None


def _alive(pid: int, started: str | None = None) -> bool:
    """Is the process that took the lease still running? Same PID and, when both are known, same start time."""
    if started is not None and Path("/proc").is_dir():
        now = _start_time(pid)
        return now is not None and now == started
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class PilotLease:
    def __init__(self, db_path: Path, pilot: str, *, ttl_s: float = 30.0) -> None:
        self.path = db_path
        self.pilot = pilot
        self.ttl_s = ttl_s
        self.owner = uuid.uuid4().hex
        self.pid = os.getpid()
        self.host = socket.gethostname()
        self._db = open_sqlite(db_path)
        self.started = _start_time(self.pid)
        try:
            self._db.executescript(_SCHEMA)
            cols = {r[1] for r in self._db.execute("PRAGMA table_info(leases)")}
            for col, kind in _ADDED.items():  # a home from before the column was recorded
                if col not in cols:
                    self._db.execute(f"ALTER TABLE leases ADD COLUMN {col} {kind}")
        except sqlite3.Error as exc:
            raise storage_error(db_path, exc, "prepare") from exc
        self.held = False

    def acquire(self) -> None:
        now = datetime.now(UTC)
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT owner, pid, host, heartbeat, started FROM leases WHERE pilot = ?",
                                       (self.pilot,)).fetchone()
                if row is not None and row[0] != self.owner:
                    _owner, pid, host, beat, started = row
                    age = (now - datetime.fromisoformat(beat)).total_seconds()
                    dead = host == self.host and not _alive(int(pid), started)
                    if age < self.ttl_s and not dead:
                        raise LeaseHeldError(
                            f"pilot {self.pilot!r} is already running here: PID {pid} on {host} (heartbeat "
                            f"{age:.0f}s ago)", where=str(self.path),
                            hint=f"stop that service first (kill {pid}), or wait {self.ttl_s:g}s after it died")
                self._db.execute(
                    "INSERT INTO leases(pilot, owner, pid, host, acquired, heartbeat, started) VALUES (?,?,?,?,?,?,?) "
                    "ON CONFLICT(pilot) DO UPDATE SET owner=excluded.owner, pid=excluded.pid, host=excluded.host, "
                    "acquired=excluded.acquired, heartbeat=excluded.heartbeat, started=excluded.started, "
                    "endpoint=NULL, bindings=NULL",
                    (self.pilot, self.owner, self.pid, self.host, now.isoformat(), now.isoformat(), self.started))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise storage_error(self.path, exc, "lock the pilot in") from exc
        self.held = True

    def advertise(self, endpoint: str | None, bindings: dict[str, str] | None = None) -> None:
        """Record where this service's plant is (its OPC UA endpoint and role → tag bindings) on the held lease,
        so a reader (the console) can watch the same plant. ``None`` clears it. Only the holder's row changes."""
        try:
            self._db.execute("UPDATE leases SET endpoint = ?, bindings = ? WHERE pilot = ? AND owner = ?",
                             (endpoint, json.dumps(bindings, ensure_ascii=False) if bindings is not None else None,
                              self.pilot, self.owner))
        except sqlite3.Error as exc:
            raise storage_error(self.path, exc, "record the pilot's endpoint in") from exc

    def renew(self) -> bool:
        """Move the heartbeat; False when another process took the lease (this one must stop acting)."""
        try:
            cur = self._db.execute("UPDATE leases SET heartbeat = ? WHERE pilot = ? AND owner = ?",
                                   (datetime.now(UTC).isoformat(), self.pilot, self.owner))
        except sqlite3.Error as exc:
            raise storage_error(self.path, exc, "renew the pilot lease in") from exc
        self.held = cur.rowcount == 1
        return self.held

    def release(self) -> None:
        try:
            if self.held:
                self._db.execute("DELETE FROM leases WHERE pilot = ? AND owner = ?", (self.pilot, self.owner))
        except sqlite3.Error:
            pass  # the lease expires by its heartbeat
        finally:
            self.held = False
            self._db.close()


@dataclass(frozen=True)
class LeaseInfo:
    """One lease row as a reader sees it; ``endpoint``/``bindings`` are ``None`` when the holder recorded none
    (started without ``--endpoint``/``--simulate``, or a home from before they were recorded)."""

    pilot: str
    host: str
    pid: int
    heartbeat: str
    endpoint: str | None = None
    bindings: dict[str, str] = field(default_factory=dict)

    def age_s(self, now: datetime | None = None) -> float:
        """Seconds since the last heartbeat (infinite when the time cannot be read)."""
        try:
            return ((now or datetime.now(UTC)) - datetime.fromisoformat(self.heartbeat)).total_seconds()
        except ValueError:
            return float("inf")


def read_leases(db_path: Path) -> dict[str, LeaseInfo]:
    """Every lease by pilot, read-only (never creates or changes the file); empty when there is no file or no
    lease table yet. A ``bindings`` value that is not a JSON object of strings is left out, never guessed."""
    if not db_path.exists():
        return {}
    db = open_sqlite(db_path, readonly=True, timeout=5.0)
    try:
        cols = {r[1] for r in db.execute("PRAGMA table_info(leases)")}
        if not cols:
            return {}
        extra = ", ".join(c if c in cols else "NULL" for c in ("endpoint", "bindings"))
        rows = db.execute(f"SELECT pilot, host, pid, heartbeat, {extra} FROM leases").fetchall()
    except sqlite3.Error as exc:
        raise storage_error(db_path, exc, "read the pilot leases in") from exc
    finally:
        db.close()
    return {p: LeaseInfo(p, h, int(pid), hb, ep, _bindings(b)) for p, h, pid, hb, ep, b in rows}


def _bindings(text: str | None) -> dict[str, str]:
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        return {}
    return dict(data)
