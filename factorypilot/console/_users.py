"""Console users, sessions, login rate limiting and which firm owns which pilot (``console.sqlite``).

Passwords are hashed with argon2id (argon2-cffi); sessions are random tokens of which only the SHA-256 is
stored, each with its own CSRF token. A user belongs to one company (``*`` = programme staff who see every
firm). A pilot belongs to one company; runs, approvals and ledger records are scoped through their pilot.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from factorypilot._sqlite import SqliteFile
from factorypilot.errors import ConfigError

__all__ = ["ALL_COMPANIES", "ROLES", "Session", "User", "UserStore"]

ROLES = ("viewer", "operator", "approver", "admin")
ALL_COMPANIES = "*"
_NAME = re.compile(r"^[\w.@-]{1,64}$")
_COMPANY = re.compile(r"^(\*|[\w.-]{1,64})$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, company TEXT NOT NULL, hash TEXT NOT NULL, created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, name TEXT NOT NULL, csrf TEXT NOT NULL, created REAL NOT NULL, expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS login_failures (who TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS login_failures_who ON login_failures(who, at);
CREATE TABLE IF NOT EXISTS pilot_owners (pilot TEXT PRIMARY KEY, company TEXT NOT NULL, spec TEXT);
CREATE TABLE IF NOT EXISTS pilot_links (pilot TEXT PRIMARY KEY, endpoint TEXT NOT NULL, bindings TEXT NOT NULL);
"""

_hasher = PasswordHasher()


@dataclass(frozen=True)
class User:
    name: str
    role: str
    company: str

    def can(self, role: str) -> bool:
        """True when this user's role is ``role`` or above (viewer < operator < approver < admin)."""
        return ROLES.index(self.role) >= ROLES.index(role)

    @property
    def all_companies(self) -> bool:
        return self.company == ALL_COMPANIES


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    expires: float


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class UserStore(SqliteFile):
    """``console.sqlite`` under ``FACTORYPILOT_HOME``. Thread-safe; shared by the CLI and the console."""

    def __init__(self, path: Path, *, session_hours: float = 12.0, max_failures: int = 5,
                 failure_window_s: float = 900.0, hasher: PasswordHasher | None = None) -> None:
        super().__init__(path, _SCHEMA)
        self._hasher = hasher or _hasher  # argon2id with the library's defaults (RFC 9106 low-memory profile)
        self.session_s = session_hours * 3600
        self.max_failures = max_failures
        self.failure_window_s = failure_window_s

    # -- users -------------------------------------------------------------------------------------
    def add_user(self, name: str, role: str, company: str, password: str, *, replace: bool = False) -> User:
        if not _NAME.match(name):
            raise ConfigError(f"user name {name!r} is not usable",
                              hint="use letters (Korean too), digits, '.', '_', '-' or '@', at most 64")
        if role not in ROLES:
            raise ConfigError(f"unknown role {role!r}", hint="use one of: " + ", ".join(ROLES))
        if not _COMPANY.match(company):
            raise ConfigError(f"company id {company!r} is not usable",
                              hint="use letters, digits, '.', '_' or '-' (or '*' for programme staff)")
        if len(password) < 8:
            raise ConfigError("the password is shorter than 8 characters", hint="choose a longer password")
        if not replace and self.user(name) is not None:
            raise ConfigError(f"user {name!r} exists already", hint="pass --replace to reset role and password")
        self._exec("INSERT INTO users(name, role, company, hash, created) VALUES (?,?,?,?,?) ON CONFLICT(name) DO "
                   "UPDATE SET role=excluded.role, company=excluded.company, hash=excluded.hash",
                   (name, role, company, self._hasher.hash(password), time.time()))
        self._exec("DELETE FROM sessions WHERE name = ?", (name,))  # a reset ends the user's sessions
        return User(name, role, company)

    def remove_user(self, name: str) -> bool:
        self._exec("DELETE FROM sessions WHERE name = ?", (name,))
        return self._exec("DELETE FROM users WHERE name = ?", (name,)).rowcount == 1

    def user(self, name: str) -> User | None:
        r = self._exec("SELECT name, role, company FROM users WHERE name = ?", (name,)).fetchone()
        return User(r[0], r[1], r[2]) if r else None

    def users(self) -> list[User]:
        return [User(*r) for r in self._exec("SELECT name, role, company FROM users ORDER BY name").fetchall()]

    # -- login -------------------------------------------------------------------------------------
    def blocked(self, name: str, client: str) -> bool:
        """More than ``max_failures`` failed logins for this name or from this client within the window."""
        since = time.time() - self.failure_window_s
        for who in (f"user:{name}", f"client:{client}"):
            n = self._exec("SELECT COUNT(*) FROM login_failures WHERE who = ? AND at >= ?", (who, since)).fetchone()
            if n[0] >= self.max_failures:
                return True
        return False

    def login(self, name: str, password: str, client: str) -> tuple[str, Session] | None:
        """A new session (token, session) for a correct password; ``None`` (and a recorded failure) otherwise.
        The caller checks :meth:`blocked` first."""
        r = self._exec("SELECT hash FROM users WHERE name = ?", (name,)).fetchone()
        ok = False
        try:
            ok = _hasher.verify(r[0] if r else _dummy(), password) and r is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if not ok:
            now = time.time()
            self._exec("INSERT INTO login_failures(who, at) VALUES (?,?), (?,?)",
                       (f"user:{name}", now, f"client:{client}", now))
            return None
        self._exec("DELETE FROM login_failures WHERE who = ?", (f"user:{name}",))
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = time.time() + self.session_s
        self._exec("INSERT INTO sessions(token_hash, name, csrf, created, expires) VALUES (?,?,?,?,?)",
                   (_digest(token), name, csrf, time.time(), expires))
        user = self.user(name)
        assert user is not None
        return token, Session(user, csrf, expires)

    def session(self, token: str) -> Session | None:
        r = self._exec("SELECT u.name, u.role, u.company, s.csrf, s.expires FROM sessions s JOIN users u "
                       "ON u.name = s.name WHERE s.token_hash = ?", (_digest(token),)).fetchone()
        if not r or r[4] < time.time():
            return None
        return Session(User(r[0], r[1], r[2]), r[3], r[4])

    def logout(self, token: str) -> None:
        self._exec("DELETE FROM sessions WHERE token_hash = ?", (_digest(token),))

    # -- which firm owns which pilot ------------------------------------------------------------------
    def assign_pilot(self, pilot: str, company: str, spec: str | None = None) -> None:
        if not _COMPANY.match(company) or company == ALL_COMPANIES:
            raise ConfigError(f"company id {company!r} is not usable for a pilot",
                              hint="name the one firm that owns the pilot (letters, digits, '.', '_', '-')")
        self._exec("INSERT INTO pilot_owners(pilot, company, spec) VALUES (?,?,?) ON CONFLICT(pilot) DO UPDATE "
                   "SET company=excluded.company, spec=COALESCE(excluded.spec, pilot_owners.spec)",
                   (pilot, company, spec))

    def set_link(self, pilot: str, endpoint: str, bindings: dict[str, str]) -> None:
        """The plant link the console reads live values from (read-only): endpoint and role → tag id."""
        if not endpoint.startswith("opc.tcp://"):
            raise ConfigError(f"endpoint {endpoint!r} is not an OPC UA URL", hint="use opc.tcp://HOST:PORT")
        self._exec("INSERT INTO pilot_links(pilot, endpoint, bindings) VALUES (?,?,?) ON CONFLICT(pilot) DO UPDATE "
                   "SET endpoint=excluded.endpoint, bindings=excluded.bindings",
                   (pilot, endpoint, json.dumps(bindings, ensure_ascii=False)))

    def link(self, pilot: str) -> tuple[str, dict[str, str]] | None:
        r = self._exec("SELECT endpoint, bindings FROM pilot_links WHERE pilot = ?", (pilot,)).fetchone()
        return (r[0], dict(json.loads(r[1]))) if r else None

    def pilot_owners(self) -> dict[str, tuple[str, str | None]]:
        """pilot id → (company, spec name or path)."""
        rows = self._exec("SELECT pilot, company, spec FROM pilot_owners ORDER BY pilot").fetchall()
        return {p: (c, s) for p, c, s in rows}

    def pilots_of(self, user: User) -> list[str]:
        """The pilots a user may see. Pilots nobody assigned are visible to programme staff (``*``) only."""
        owners = self.pilot_owners()
        return sorted(p for p, (c, _) in owners.items() if user.all_companies or c == user.company)


@lru_cache(maxsize=1)
def _dummy() -> str:
    """A hash to verify against for unknown user names, so they take as long as known ones."""
    return _hasher.hash("not-a-password-" + secrets.token_hex(8))
