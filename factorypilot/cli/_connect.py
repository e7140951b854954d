"""``factorypilot connect``: check your own OPC UA server — browse its tags, read values, watch changes.

The password comes from ``FACTORYPILOT_OPCUA_PASSWORD`` or a hidden prompt, never from a flag value.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from factorypilot.errors import ConfigError

if TYPE_CHECKING:
    from factorypilot.connectors.opcua import OpcUaConnector

PASSWORD_ENV = "FACTORYPILOT_OPCUA_PASSWORD"

connect_app = typer.Typer(
    name="connect",
    help="Check an OPC UA server: browse its tags, read values, watch data changes.\n\n"
    "Example:  factorypilot connect browse opc.tcp://192.168.0.10:4840",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

_POLICY = typer.Option("None", "--policy", help="security policy: None or Basic256Sha256")
_MODE = typer.Option("None", "--mode", help="security mode: None, Sign or SignAndEncrypt")
_CERT = typer.Option(None, "--cert", help="client certificate (DER/PEM) for a secure connection")
_KEY = typer.Option(None, "--key", help="client private key (PEM/DER)")
_TRUST = typer.Option([], "--trust", help="trusted server certificate file, repeatable")
_TRUST_UNKNOWN = typer.Option(False, "--trust-unknown", help="accept a server certificate not in the trust list")
_USER = typer.Option(None, "--username", "-u",
                     help=f"user name; the password is read from {PASSWORD_ENV} or asked for")
_TIMEOUT = typer.Option(5.0, "--timeout", help="seconds to wait for each answer")


def _connector(endpoint: str, policy: str, mode: str, cert: Path | None, key: Path | None, trust: list[Path],
               trust_unknown: bool, username: str | None, timeout: float, **extra: Any) -> OpcUaConnector:
    from pydantic import ValidationError

    from factorypilot.connectors.opcua import OpcUaConnector
    from factorypilot.connectors.registry import config_error

    if not logging.getLogger("factorypilot").isEnabledFor(logging.DEBUG):
        logging.getLogger("asyncua").setLevel(logging.ERROR)  # its notices are not for plant users; --debug
    password = os.environ.get(PASSWORD_ENV)
    if username and password is None:
        password = typer.prompt(f"password for {username}", hide_input=True)
    if policy != "None" and mode == "None":
        mode = "SignAndEncrypt"
    try:
        cfg = OpcUaConnector.Config(endpoint=endpoint, security_policy=policy, security_mode=mode,
                                    client_certificate=cert, client_private_key=key,
                                    trusted_server_certificates=trust, trust_unknown_server=trust_unknown,
                                    username=username, password=password, timeout_s=timeout, **extra)
    except ValidationError as exc:
        raise config_error(exc, where="factorypilot connect options") from exc
    return OpcUaConnector(cfg)


def _run(coro: Any) -> Any:
    import asyncio

    return asyncio.run(coro)


def _stream_until(stream: Callable[[], Awaitable[None]], seconds: float | None, console: Console) -> None:
    """Run ``stream()`` until it ends, ``seconds`` pass (if given) or Ctrl-C ("stopped") — `watch` and `alarms`."""
    import asyncio
    import contextlib

    async def go() -> None:
        if seconds is None:
            await stream()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stream(), seconds)

    try:
        _run(go())
    except KeyboardInterrupt:
        console.print("stopped")


@connect_app.command("browse")
def browse(
    endpoint: str = typer.Argument(..., help="opc.tcp://host:port/path (path optional)"),
    root: str = typer.Option("i=85", "--root", help="start node (default: the Objects folder)"),
    namespace: str | None = typer.Option(None, "--namespace", "-n", help="only this namespace (index or URI)"),
    policy: str = _POLICY, mode: str = _MODE, cert: Path | None = _CERT, key: Path | None = _KEY,
    trust: list[Path] = _TRUST, trust_unknown: bool = _TRUST_UNKNOWN, username: str | None = _USER,
    timeout: float = _TIMEOUT,
) -> None:
    """List the server's tags: node id, Korean/English names, unit, type, writable, asset path.

    Example:  factorypilot connect browse opc.tcp://192.168.0.10:4840 --namespace 2
    """
    ns: str | int | None = int(namespace) if namespace and namespace.isdigit() else namespace
    conn = _connector(endpoint, policy, mode, cert, key, trust, trust_unknown, username, timeout,
                      browse_root=root, namespace=ns)

    async def go() -> list[Any]:
        async with conn:
            return await conn.browse()

    tags = _run(go())
    table = Table(title=f"{len(tags)} tags at {endpoint}", title_justify="left")
    for col in ("node id", "한국어", "English", "unit", "type", "writable", "asset"):
        table.add_column(col, overflow="fold")  # never truncate a node id: it is what the user copies
    for t in tags:
        table.add_row(t.id, t.display_names.get("ko", ""), t.display_names.get("en", t.name), t.unit or "",
                      t.data_type.value, "yes" if t.writable else "", str(t.asset or ""))
    Console().print(table)


@connect_app.command("read")
def read(
    endpoint: str = typer.Argument(..., help="opc.tcp://host:port/path (path optional)"),
    node_ids: list[str] = typer.Argument(..., help="node ids, e.g. ns=2;s=CNC1.Speed"),
    policy: str = _POLICY, mode: str = _MODE, cert: Path | None = _CERT, key: Path | None = _KEY,
    trust: list[Path] = _TRUST, trust_unknown: bool = _TRUST_UNKNOWN, username: str | None = _USER,
    timeout: float = _TIMEOUT,
) -> None:
    """Read the current value of each node id.

    Example:  factorypilot connect read opc.tcp://192.168.0.10:4840 "ns=2;s=CNC1.SpindleSpeed"
    """
    conn = _connector(endpoint, policy, mode, cert, key, trust, trust_unknown, username, timeout)

    async def go() -> list[Any]:
        async with conn:
            return await conn.read(node_ids)

    table = Table(title_justify="left")
    for col in ("node id", "value", "quality", "source time"):
        table.add_column(col, overflow="fold")
    for s in _run(go()):
        table.add_row(s.tag_id, repr(s.value), s.quality.value, s.source_time.isoformat() if s.source_time else "")
    Console().print(table)


@connect_app.command("watch")
def watch(
    endpoint: str = typer.Argument(..., help="opc.tcp://host:port/path (path optional)"),
    node_ids: list[str] = typer.Argument(..., help="node ids to watch"),
    period: float = typer.Option(1.0, "--period", help="publishing interval in seconds"),
    count: int | None = typer.Option(None, "--count", help="stop after N samples/gaps"),
    seconds: float | None = typer.Option(None, "--seconds", help="stop after S seconds"),
    policy: str = _POLICY, mode: str = _MODE, cert: Path | None = _CERT, key: Path | None = _KEY,
    trust: list[Path] = _TRUST, trust_unknown: bool = _TRUST_UNKNOWN, username: str | None = _USER,
    timeout: float = _TIMEOUT,
) -> None:
    """Print data changes (and gaps while the server is unreachable) until Ctrl-C, --count or --seconds.

    Example:  factorypilot connect watch opc.tcp://192.168.0.10:4840 "ns=2;s=CNC1.Vibration" --seconds 30
    """
    import contextlib

    from factorypilot.vocabulary import Gap

    if count is not None and count < 1:
        raise ConfigError("--count must be at least 1", where="--count")
    conn = _connector(endpoint, policy, mode, cert, key, trust, trust_unknown, username, timeout)
    console = Console()

    async def stream() -> None:
        n = 0
        async with conn, contextlib.aclosing(conn.subscribe(node_ids, period=period)) as items:
            async for item in items:
                if isinstance(item, Gap):
                    console.print(f"[yellow]gap[/] {item.start.isoformat()} → "
                                  f"{item.end.isoformat() if item.end else '…'} ({item.seconds or 0:.1f} s): "
                                  f"{item.reason}", highlight=False)
                else:
                    when = item.time.isoformat() if item.time else ""
                    console.print(f"{when}  {item.tag_id}  {item.value!r}  {item.quality.value}", highlight=False)
                n += 1
                if count is not None and n >= count:
                    return

    _stream_until(stream, seconds, console)


cert_app = typer.Typer(help="This client's application certificate (for Basic256Sha256 connections).",
                       no_args_is_help=True)
connect_app.add_typer(cert_app, name="cert")


def _print_cert(info: dict[str, str]) -> None:
    console = Console()
    for k in ("file", "subject", "application_uri", "valid_from", "valid_until", "sha1", "sha256"):
        console.print(f"{k:16s} {info[k]}")
    console.print("give the file (and its SHA-1 thumbprint) to the plant's OPC UA administrator: the server must "
                  "trust it / 이 파일과 SHA-1 지문을 설비 OPC UA 관리자에게 전달해 서버의 신뢰 목록에 넣어야 합니다")


@cert_app.command("create")
def cert_create(overwrite: bool = typer.Option(False, "--overwrite", help="replace an existing certificate"),
                days: int = typer.Option(730, "--days", min=1, help="validity in days")) -> None:
    """Create the client application certificate and key under FACTORYPILOT_HOME/pki/own.

    Example:  factorypilot connect cert create
    """
    from factorypilot.connectors.opcua._security import create_own_certificate, describe_certificate

    cert, _ = create_own_certificate(days=days, overwrite=overwrite)
    _print_cert(describe_certificate(cert))


@cert_app.command("show")
def cert_show() -> None:
    """Show the client certificate: file, subject, validity and thumbprints.

    Example:  factorypilot connect cert show
    """
    from factorypilot.connectors.opcua._security import describe_certificate, own_certificate

    cert, _ = own_certificate()
    if not cert.is_file():
        raise ConfigError("no client certificate yet", where=str(cert),
                          hint="create it with: factorypilot connect cert create")
    _print_cert(describe_certificate(cert))


from factorypilot.cli import _connect_events  # noqa: E402,F401  (registers `connect history` and `connect alarms`)
