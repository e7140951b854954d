"""``factorypilot mcp``: serve pilots to AI assistants over MCP; ``factorypilot mcp token create|list|revoke``.

Over stdio the server speaks the protocol on stdout, so everything a person reads goes to stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from factorypilot.cli._pilot import _bindings
from factorypilot.errors import ConfigError
from factorypilot.settings import get_settings

mcp_app = typer.Typer(help="Serve pilots to AI assistants over the Model Context Protocol (read; propose with "
                      "approval by a named person).", no_args_is_help=False, invoke_without_command=True)
token_app = typer.Typer(help="Bearer tokens for the HTTP transport (one company each; read-only by default).",
                        no_args_is_help=True)
mcp_app.add_typer(token_app, name="token")
err = Console(stderr=True)
out = Console()


def _stderr_logging() -> None:
    """Keep stdout for the protocol: every factorypilot log line goes to stderr."""
    logger = logging.getLogger("factorypilot")
    for h in list(logger.handlers):
        logger.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)


@mcp_app.callback()
def mcp(
    ctx: typer.Context,
    pilot: list[str] = typer.Option([], "--pilot", help="pilot spec path or reference name; SPEC@COMPANY sets its "
                                    "company (repeat for several pilots)"),
    company: str | None = typer.Option(None, "--company", help="company that owns the served pilots (default: each "
                                       "pilot's id); alone, serves that company's documents only"),
    transport: str = typer.Option("stdio", "--transport", help="stdio (local assistant) or http (bearer tokens)"),
    port: int = typer.Option(8765, "--port", min=1, max=65535, help="HTTP port (127.0.0.1)"),
    host: str = typer.Option("127.0.0.1", "--host", help="HTTP interface to listen on (beyond 127.0.0.1 only "
                             "with --tls-cert/--tls-key)"),
    tls_cert: Path | None = typer.Option(None, "--tls-cert", help="HTTP: TLS certificate chain (PEM); serves https"),
    tls_key: Path | None = typer.Option(None, "--tls-key", help="HTTP: the certificate's private key (PEM)"),
    endpoint: list[str] = typer.Option([], "--endpoint", help="OPC-UA endpoint of the n-th --pilot"),
    bindings: list[Path] = typer.Option([], "--bindings", help="role→tag YAML of the n-th --pilot"),
    simulate: bool = typer.Option(False, "--simulate", help="start the simulator of every pilot without --endpoint"),
    allow_propose: list[str] = typer.Option([], "--allow-propose", help="stdio: let the local user propose "
                                            "actions to this pilot id (repeat per pilot); read-only otherwise"),
    lang: str = typer.Option("en", "--lang", help="language of tag descriptions: en or ko"),
    raw_node_ids: bool = typer.Option(False, "--allow-raw-node-ids", help="let read_values/read_history read any "
                                      "node id on a pilot's plant connection, not only its bound roles and tags"),
) -> None:
    """Serve pilots over MCP: read tools for any client, proposals only where granted, approval by a person.

    Example:  factorypilot mcp --pilot mobility --simulate
    Example:  factorypilot mcp --pilot mobility --company acme --transport http --port 8765
    Example:  factorypilot mcp --pilot mobility --company acme --transport http --host 0.0.0.0 \
                  --tls-cert cert.pem --tls-key key.pem
    """
    if ctx.invoked_subcommand is not None:
        return
    from factorypilot.mcp import Listen, PilotTarget, serve

    if transport not in ("stdio", "http"):
        raise ConfigError(f"unknown transport {transport!r}", hint="use --transport stdio or --transport http")
    if not pilot and not company:
        raise ConfigError("name what to serve", hint="pass --pilot NAME (repeatable) or --company ID")
    if len(endpoint) > len(pilot) or len(bindings) > len(pilot):
        raise ConfigError("more --endpoint/--bindings than --pilot options",
                          hint="give them in the order of the --pilot options")
    targets = []
    for i, name in enumerate(pilot):
        spec, _, firm = name.partition("@")
        targets.append(PilotTarget(spec=spec, endpoint=endpoint[i] if i < len(endpoint) else None,
                                   bindings=_bindings(bindings[i]) if i < len(bindings) else None,
                                   simulate=simulate, company=firm or None))
    listen = Listen(host=host, port=port, tls_cert=tls_cert, tls_key=tls_key)
    if transport == "http":
        listen.check()
    _stderr_logging()
    if transport == "http":
        err.print(f"factorypilot MCP server on {listen.url} — bearer token required "
                  f"(factorypilot mcp token create) / 베어러 토큰 필요")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(targets, home=get_settings().home, company=company,
                          transport="http" if transport == "http" else "stdio", listen=listen,
                          allow_propose=allow_propose, lang=lang, raw_node_ids=raw_node_ids))


@token_app.command("create")
def token_create(
    company: str = typer.Option(..., "--company", help="the one company this token may see"),
    scope: str = typer.Option("read", "--scope", help="read, or propose (needs --pilot)"),
    pilot: list[str] = typer.Option([], "--pilot", help="pilot id this token may propose to (repeat per pilot)"),
    client: str = typer.Option("", "--client", help="a name for the client, recorded on the ledger"),
) -> None:
    """Create a bearer token (shown once; only its hash is stored).

    Example:  factorypilot mcp token create --company acme --scope propose --pilot mobility-cnc --client desk-1
    """
    from factorypilot.mcp import TokenStore

    store = TokenStore(get_settings().home / "mcp.sqlite")
    try:
        token, info = store.create(company, scope, pilots=pilot, client=client, created_by=getpass.getuser())
    finally:
        store.close()
    err.print(f"[green]✓[/] token {info.token_id} for company {info.company!r}, scope {info.scope}"
              + (f" on {', '.join(info.pilots)}" if info.pilots else "")
              + " — shown once, store it now / 한 번만 표시됩니다")
    typer.echo(token)


@token_app.command("list")
def token_list(company: str | None = typer.Option(None, "--company", help="only this company's tokens")) -> None:
    """List tokens (ids, companies, scopes; never the secrets).

    Example:  factorypilot mcp token list --company acme
    """
    from factorypilot.mcp import TokenStore

    store = TokenStore(get_settings().home / "mcp.sqlite")
    try:
        rows = store.list(company)
    finally:
        store.close()
    table = Table(title="MCP tokens")
    for col in ("token id", "company", "scope", "pilots", "client", "created", "revoked"):
        table.add_column(col)
    for t in rows:
        table.add_row(t.token_id, t.company, t.scope, ", ".join(t.pilots), t.client, t.created[:19],
                      (t.revoked or "")[:19])
    out.print(table)


@token_app.command("revoke")
def token_revoke(token_id: str = typer.Argument(..., help="token id from: factorypilot mcp token list")) -> None:
    """Revoke a token; the server refuses it from the next request on.

    Example:  factorypilot mcp token revoke 3fa85f64a1b2
    """
    from factorypilot.mcp import TokenStore

    store = TokenStore(get_settings().home / "mcp.sqlite")
    try:
        info = store.revoke(token_id)
    finally:
        store.close()
    out.print(f"[green]✓[/] token {info.token_id} revoked at {(info.revoked or '')[:19]} / 토큰 폐기됨")
