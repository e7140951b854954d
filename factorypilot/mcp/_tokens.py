"""Bearer tokens for the MCP server's HTTP transport: one company per token, read-only unless granted.

A token reads ``fpm_<id>_<secret>``. Only the SHA-256 of the secret is stored (``mcp.sqlite`` under
``FACTORYPILOT_HOME``); the token itself is shown once, at creation. The secret is 32 random bytes, so a plain
hash is enough (no password stretching needed) and the comparison is constant-time. ``propose`` scope is granted
per token **and** per pilot (``--pilot``); a revoked token is refused at once, on the next request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from factorypilot._sqlite import SqliteFile
from factorypilot.errors import AuthenticationError, ConfigError

__all__ = ["Scope", "TokenInfo", "TokenStore"]

Scope = Literal["read", "propose"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS mcp_tokens (
    token_id TEXT PRIMARY KEY, company TEXT NOT NULL, scope TEXT NOT NULL, pilots TEXT NOT NULL,
    client TEXT NOT NULL, secret_sha256 TEXT NOT NULL, created TEXT NOT NULL, created_by TEXT NOT NULL,
    revoked TEXT
);
"""
_PREFIX = "fpm_"


@dataclass(frozen=True)
class TokenInfo:
    token_id: str
    company: str
    scope: Scope
    pilots: tuple[str, ...]
    """pilots this token may propose actions to (empty for read scope)"""
    client: str
    created: str
    created_by: str
    revoked: str | None

    def may_propose(self, pilot: str) -> bool:
        return self.scope == "propose" and self.revoked is None and pilot in self.pilots


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class TokenStore(SqliteFile):
    """``mcp.sqlite``: token ids, companies, scopes and secret hashes (never the secrets)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)

    def __enter__(self) -> TokenStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def create(self, company: str, scope: str, *, pilots: list[str] | None = None, client: str = "",
               created_by: str = "") -> tuple[str, TokenInfo]:
        """A new token (returned once, in clear) and its stored description."""
        if scope not in ("read", "propose"):
            raise ConfigError(f"unknown scope {scope!r}", hint="use --scope read or --scope propose")
        if not company.strip():
            raise ConfigError("a token belongs to one company", hint="pass --company ID")
        pilots = sorted(set(pilots or []))
        if scope == "propose" and not pilots:
            raise ConfigError("propose scope is granted per pilot, and no pilot was named",
                              hint="add --pilot PILOT_ID (repeat for more pilots)")
        if scope == "read" and pilots:
            raise ConfigError("--pilot grants propose scope; a read token sees every pilot of its company",
                              hint="drop --pilot, or use --scope propose")
        token_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        now = datetime.now(UTC).isoformat()
        self._exec("INSERT INTO mcp_tokens(token_id, company, scope, pilots, client, secret_sha256, created, "
                   "created_by) VALUES (?,?,?,?,?,?,?,?)",
                   (token_id, company, scope, json.dumps(pilots), client or token_id, _digest(secret), now,
                    created_by))
        info = self.get(token_id)
        assert info is not None
        return f"{_PREFIX}{token_id}_{secret}", info

    def get(self, token_id: str) -> TokenInfo | None:
        r = self._exec("SELECT token_id, company, scope, pilots, client, created, created_by, revoked "
                       "FROM mcp_tokens WHERE token_id = ?", (token_id,)).fetchone()
        return _info(r) if r else None

    def list(self, company: str | None = None) -> list[TokenInfo]:
        sql = "SELECT token_id, company, scope, pilots, client, created, created_by, revoked FROM mcp_tokens"
        rows = self._exec(sql + (" WHERE company = ?" if company else "") + " ORDER BY created",
                          (company,) if company else ()).fetchall()
        return [_info(r) for r in rows]

    def revoke(self, token_id: str) -> TokenInfo:
        info = self.get(token_id)
        if info is None:
            raise ConfigError(f"no MCP token {token_id!r}", hint="see: factorypilot mcp token list")
        self._exec("UPDATE mcp_tokens SET revoked = ? WHERE token_id = ? AND revoked IS NULL",
                   (datetime.now(UTC).isoformat(), token_id))
        out = self.get(token_id)
        assert out is not None
        return out

    def known_id(self, token: str) -> str | None:
        """The id of a stored token that ``token`` names (whatever its secret), else None."""
        token_id, sep, _ = token.removeprefix(_PREFIX).partition("_")
        return token_id if token.startswith(_PREFIX) and sep and self.get(token_id) is not None else None

    def verify(self, token: str) -> TokenInfo:
        """The token's description, or :class:`AuthenticationError` (unknown, malformed or revoked)."""
        body = token.removeprefix(_PREFIX) if token.startswith(_PREFIX) else ""
        token_id, sep, secret = body.partition("_")
        if not sep or not token_id or not secret:
            raise AuthenticationError("malformed MCP token / 형식이 잘못된 MCP 토큰", hint=_NEW)
        r = self._exec("SELECT secret_sha256 FROM mcp_tokens WHERE token_id = ?", (token_id,)).fetchone()
        if r is None or not hmac.compare_digest(str(r[0]), _digest(secret)):
            raise AuthenticationError("unknown MCP token / 알 수 없는 MCP 토큰", hint=_NEW)
        info = self.get(token_id)
        assert info is not None
        if info.revoked is not None:
            raise AuthenticationError(f"MCP token {token_id} was revoked at {info.revoked[:19]} "
                                      f"/ MCP 토큰 {token_id} 는 폐기되었습니다",
                                      hint="ask for a new token / 새 토큰을 요청하십시오")
        return info


_NEW = "create one with: factorypilot mcp token create / 토큰을 만드십시오: factorypilot mcp token create"


def _info(r: tuple[Any, ...]) -> TokenInfo:
    return TokenInfo(token_id=r[0], company=r[1], scope=r[2], pilots=tuple(json.loads(r[3])), client=r[4],
                     created=r[5], created_by=r[6], revoked=r[7])
