"""Running the server: stdio (the local user's desktop assistant) or streamable HTTP (bearer tokens).

HTTP carries bearer tokens, so it never listens beyond this machine in clear text: a non-loopback ``--host``
needs ``--tls-cert``/``--tls-key`` (uvicorn serves TLS itself), or keep 127.0.0.1 behind a TLS reverse proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from factorypilot.errors import ConfigError, SecurityError
from factorypilot.mcp._act import apply_loop
from factorypilot.mcp._deployment import PilotTarget, open_deployment
from factorypilot.mcp._server import build_server

__all__ = ["Listen", "serve"]

_LOOPBACK_NAMES = {"localhost"}


@dataclass(frozen=True)
class Listen:
    """Where the HTTP transport listens, and its TLS certificate chain and key (PEM), if any."""

    host: str = "127.0.0.1"
    port: int = 8765
    tls_cert: Path | None = None
    tls_key: Path | None = None

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}/mcp"

    def check(self) -> None:
        """Refuse clear-text tokens on the network and unusable certificates, before anything starts."""
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError("TLS needs both --tls-cert and --tls-key",
                              hint="pass both PEM files, or neither / 인증서와 개인 키를 함께 주십시오")
        if self.tls_cert is not None and self.tls_key is not None:
            try:
                ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(self.tls_cert, self.tls_key)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(f"cannot use the TLS certificate and key: {exc}",
                                  where=f"{self.tls_cert}, {self.tls_key}",
                                  hint="PEM files: the certificate chain and its unencrypted private key "
                                       "/ PEM 인증서 체인과 암호화되지 않은 개인 키") from exc
        elif not _loopback(self.host):
            raise SecurityError(f"--host {self.host} without TLS would send bearer tokens in clear text",
                                hint="add --tls-cert CERT.pem --tls-key KEY.pem, or keep --host 127.0.0.1 behind a "
                                     "TLS reverse proxy / 토큰이 평문으로 전송되지 않도록 TLS 를 켜십시오")


def _loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def serve(targets: list[PilotTarget], *, home: Path, company: str | None = None,
                transport: Literal["stdio", "http"] = "stdio", listen: Listen | None = None,
                allow_propose: list[str] | None = None, lang: str = "en", raw_node_ids: bool = False) -> None:
    """Serve until the client closes stdio (stdio) or the process is stopped (HTTP)."""
    listen = listen or Listen()
    if transport == "http":
        listen.check()
    async with open_deployment(targets, home=home, company=company, stdio_propose=allow_propose,
                               raw_node_ids=raw_node_ids) as dep:
        server = build_server(dep, http=transport == "http", url=listen.url, lang=lang)
        applier = asyncio.create_task(apply_loop(dep), name="mcp-apply-decisions")
        try:
            if transport == "stdio":
                await server.run_stdio_async()
            else:
                await _serve_http(server, listen)
        finally:
            applier.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await applier


async def _serve_http(server: object, listen: Listen) -> None:
    """The SDK's streamable HTTP app on uvicorn, with TLS when a certificate is given."""
    import uvicorn
    from mcp.server.mcpserver import MCPServer
    from mcp.server.transport_security import TransportSecuritySettings

    assert isinstance(server, MCPServer)
    security = None
    if _loopback(listen.host):  # the SDK's DNS-rebinding protection for loopback, https origins included
        names = ["127.0.0.1", "localhost", "[::1]"]
        security = TransportSecuritySettings(
            enable_dns_rebinding_protection=True, allowed_hosts=[f"{n}:*" for n in names],
            allowed_origins=[f"{s}://{n}:*" for s in ("http", "https") for n in names])
    app = server.streamable_http_app(host=listen.host, transport_security=security)
    config = uvicorn.Config(app, host=listen.host, port=listen.port, log_level="warning",
                            ssl_certfile=str(listen.tls_cert) if listen.tls_cert else None,
                            ssl_keyfile=str(listen.tls_key) if listen.tls_key else None)
    await uvicorn.Server(config).serve()
