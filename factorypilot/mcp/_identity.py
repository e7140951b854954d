"""Who is calling: the local OS user over stdio, or the holder of a bearer token over HTTP.

Over HTTP the SDK's bearer middleware asks :class:`TokenVerifier` on **every request**, so a revoked token is
refused from the next request on. The verified :class:`~factorypilot.mcp._tokens.TokenInfo` travels with the
request; a tool reads it back with :func:`caller_of`. One token sees one company.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.auth.provider import AccessToken

from factorypilot.errors import AuthenticationError
from factorypilot.mcp._tokens import TokenInfo, TokenStore

__all__ = ["Caller", "TokenVerifier", "access_token_of", "caller_of"]

log = logging.getLogger("factorypilot.mcp")


@dataclass(frozen=True)
class Caller:
    client: str
    transport: str
    token: TokenInfo | None = None

    @property
    def token_id(self) -> str | None:
        return self.token.token_id if self.token else None

    @property
    def company(self) -> str | None:
        """The one company a token may see; None for the local user (sees what the server serves)."""
        return self.token.company if self.token else None

    def sees(self, company: str) -> bool:
        return self.token is None or self.token.company == company


class TokenVerifier:
    """The SDK's ``TokenVerifier`` protocol over :class:`TokenStore` (hashed, revocable tokens).

    ``on_refused(token, error)`` hears every refusal (the deployment puts those of known token ids on the ledger).
    """

    def __init__(self, store: TokenStore,
                 on_refused: Callable[[str, AuthenticationError], None] | None = None) -> None:
        self.store = store
        self.on_refused = on_refused

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            info = self.store.verify(token)
        except AuthenticationError as exc:
            log.info("MCP request refused: %s", exc.message)
            if self.on_refused is not None:
                self.on_refused(token, exc)
            return None
        scopes = ["read", "propose"] if info.scope == "propose" else ["read"]
        return AccessToken(token=token, client_id=info.client, scopes=scopes, subject=info.token_id,
                           claims={"token_id": info.token_id})


def _http_request(ctx: Any) -> Any:
    return getattr(ctx.request_context, "request", None)


def access_token_of(ctx: Any) -> AccessToken | None:
    """The bearer token the SDK's middleware verified for this HTTP request (None over stdio)."""
    request = _http_request(ctx)
    user = request.scope.get("user") if request is not None and hasattr(request, "scope") else None
    access = getattr(user, "access_token", None)
    return access if isinstance(access, AccessToken) else None


def caller_of(ctx: Any, store: TokenStore | None) -> Caller:
    """The caller of the current tool call (``ctx`` is the SDK's ``Context``)."""
    request = _http_request(ctx)
    access = access_token_of(ctx)
    if access is None:
        if request is not None:  # an HTTP request that reached a tool without a token: never serve it
            raise AuthenticationError("an HTTP request without a bearer token reached a tool "
                                      "/ 토큰 없는 HTTP 요청입니다",
                                      hint="start the HTTP server through factorypilot mcp --transport http "
                                           "/ factorypilot mcp --transport http 로 시작하십시오")
        return Caller(client=f"local:{getpass.getuser()}", transport="stdio")
    if store is None:
        raise AuthenticationError("no token store to check the bearer token against / 토큰 저장소가 없습니다")
    info = store.verify(access.token)  # again: it may have been revoked since the middleware saw it
    return Caller(client=info.client, transport="http", token=info)
