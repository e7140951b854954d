"""One way to open a local SQLite file, so every failure reads as one line naming the file and what to do.

``open_sqlite`` turns the raw ``sqlite3`` errors a person meets in the field — a read-only home, a file
locked by another process, a corrupted or foreign file, a missing file where one must exist — into a
:class:`~factorypilot.errors.StorageError`. ``readonly=True`` opens with ``mode=ro`` (it never creates the
file or a table); on a read-only directory, where SQLite cannot create the WAL index, it falls back to
``immutable=1`` (safe because nothing on that medium can be writing).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

from factorypilot.errors import StorageError

__all__ = ["SqliteFile", "open_sqlite", "storage_error"]

_HINTS = {
    "readonly": "FACTORYPILOT_HOME must be writable by this user (check the directory and file permissions), "
                "or point FACTORYPILOT_HOME elsewhere",
    "locked": "another factorypilot process holds the file; wait for it or stop it, then retry",
    "corrupt": "the file is damaged or is not a factorypilot database: restore it from a backup, or move it "
               "aside to start afresh",
    "missing": "check the path (or run a pilot first so the file exists)",
}


def _kind(exc: BaseException) -> str:
    text = str(exc).lower()
    if "readonly" in text or "read-only" in text or "permission" in text or "unable to open" in text:
        return "readonly"
    if "locked" in text or "busy" in text:
        return "locked"
    if "not a database" in text or "malformed" in text or "corrupt" in text or "disk image" in text:
        return "corrupt"
    return "other"


def storage_error(path: Path | str, exc: BaseException, doing: str = "open") -> StorageError:
    """A typed, one-line error for a SQLite failure on ``path``."""
    kind = _kind(exc)
    what = {"readonly": "is read-only or not accessible", "locked": "is locked by another process",
            "corrupt": "is corrupted or not a SQLite database"}.get(kind, f"cannot be used ({exc})")
    hint = _HINTS.get(kind, "see the message; restore the file from a backup if it is damaged")
    return StorageError(f"cannot {doing} {Path(path).name}: the file {what}", where=str(path), hint=hint)


def _uri(path: Path, params: str) -> str:
    return f"file:{quote(str(path.resolve()))}?{params}"


def open_sqlite(path: Path | str, *, readonly: bool = False, must_exist: bool = False, timeout: float = 30.0,
                wal: bool = True) -> sqlite3.Connection:
    """Open ``path`` (autocommit; WAL and ``synchronous=FULL`` when writable) and prove it is a database."""
    path = Path(path)
    if (readonly or must_exist) and not path.exists():
        raise StorageError(f"no database file {path.name}", where=str(path), hint=_HINTS["missing"])
    try:
        if readonly:
            db = _open_readonly(path, timeout)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=timeout)
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            if wal:
                db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
    except sqlite3.Error as exc:
        raise storage_error(path, exc) from exc
    except PermissionError as exc:
        raise storage_error(path, exc) from exc
    return db


def _open_readonly(path: Path, timeout: float) -> sqlite3.Connection:
    db = sqlite3.connect(_uri(path, "mode=ro"), uri=True, check_same_thread=False, isolation_level=None,
                         timeout=timeout)
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError as exc:
        db.close()
        if os.access(path.parent, os.W_OK) or _kind(exc) != "readonly":
            raise
    # read-only medium: no WAL index can be created, and nobody can be writing — read it as immutable
    db = sqlite3.connect(_uri(path, "mode=ro&immutable=1"), uri=True, check_same_thread=False,
                         isolation_level=None, timeout=timeout)
    db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return db


class SqliteFile:
    """A small SQLite-backed store: the file opened through :func:`open_sqlite`, its schema prepared, and one
    locked ``_exec`` whose errors read as a :class:`StorageError` naming the file. Subclasses add the queries."""

    def __init__(self, path: Path, schema: str, *, readonly: bool = False, make_parent: bool = True) -> None:
        self.path = path
        self._lock = threading.Lock()
        if make_parent and not readonly:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = open_sqlite(path, readonly=readonly)
        if readonly:
            return  # never create a table in a file opened only to read
        try:
            self._db.executescript(schema)
        except sqlite3.Error as exc:
            raise storage_error(path, exc, "prepare") from exc

    def close(self) -> None:
        self._db.close()

    def _exec(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            try:
                return self._db.execute(sql, args)
            except sqlite3.Error as exc:
                raise storage_error(self.path, exc, "use") from exc
