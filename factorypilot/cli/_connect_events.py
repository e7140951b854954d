"""``factorypilot connect history`` and ``factorypilot connect alarms``: a server's stored values and its alarms.

Registered on the ``connect`` group by :mod:`factorypilot.cli._connect` (kept apart so that file stays small).
"""

from __future__ import annotations

import csv
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from factorypilot.cli._connect import (
    _CERT,
    _KEY,
    _MODE,
    _POLICY,
    _TIMEOUT,
    _TRUST,
    _TRUST_UNKNOWN,
    _USER,
    _connector,
    _run,
    _stream_until,
    connect_app,
)
from factorypilot.errors import ConfigError

__all__ = ["parse_time"]


def parse_time(text: str, option: str) -> datetime:
    """ISO 8601 date/time; without a zone it is this computer's local time (e.g. KST on a Korean PC)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"cannot read {text!r} as a date/time", where=option,
                          hint="use ISO 8601, e.g. 2026-12-07T09:00 or 2026-12-07T09:00:00+09:00") from None
    return value.astimezone() if value.tzinfo is None else value


def _iso(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat() if value else ""


@connect_app.command("history")
def history(
    endpoint: str = typer.Argument(..., help="opc.tcp://host:port/path (path optional)"),
    node_ids: list[str] = typer.Argument(None, help="historized node ids, e.g. ns=2;s=CNC1.Vibration (with "
                                         "--events: notifier ids, default the Server object)"),
    start: str = typer.Option(..., "--start", help="first time (ISO 8601; no zone = local time)"),
    end: str = typer.Option(..., "--end", help="last time (ISO 8601; no zone = local time)"),
    csv_path: Path | None = typer.Option(None, "--csv", help="write the values to this CSV file ('-' = stdout)"),
    events: bool = typer.Option(False, "--events", help="read the stored alarm events instead of values "
                                                        "(OPC UA HistoryRead of events)"),
    policy: str = _POLICY, mode: str = _MODE, cert: Path | None = _CERT, key: Path | None = _KEY,
    trust: list[Path] = _TRUST, trust_unknown: bool = _TRUST_UNKNOWN, username: str | None = _USER,
    timeout: float = _TIMEOUT,
) -> None:
    """Read the values the server stored between --start and --end (all pages), with source and server times.

    A node the server does not historize is refused with a clear message (its AccessLevel lacks HistoryRead).

    With --events: the alarm events the server stored (time, severity, state, text), oldest first.

    Example:  factorypilot connect history opc.tcp://192.168.0.10:4840 "ns=2;s=CNC1.Vibration"
    --start 2026-12-07T08:00 --end 2026-12-07T09:00 --csv vibration.csv

    Example:  factorypilot connect history opc.tcp://192.168.0.10:4840 --events
    --start 2026-12-07T08:00 --end 2026-12-07T09:00 --csv alarms.csv
    """
    t0, t1 = parse_time(start, "--start"), parse_time(end, "--end")
    if t1 < t0:
        raise ConfigError("--end is before --start", where="--start/--end", hint="swap the two times")
    conn = _connector(endpoint, policy, mode, cert, key, trust, trust_unknown, username, timeout)
    if events:
        _event_history(conn, node_ids or [], t0, t1, csv_path)
        return
    if not node_ids:
        raise ConfigError("connect history needs at least one node id", where="NODE_IDS",
                          hint="e.g. \"ns=2;s=CNC1.Vibration\", or --events for the stored alarm events")

    async def go() -> list[Any]:
        async with conn:
            return await conn.history(node_ids, t0, t1)

    samples = _run(go())
    if csv_path is not None:
        fh = sys.stdout if str(csv_path) == "-" else csv_path.open("w", encoding="utf-8", newline="")
        try:
            w = csv.writer(fh)
            w.writerow(["node_id", "source_time", "server_time", "value", "quality"])
            for s in samples:
                w.writerow([s.tag_id, _iso(s.source_time), _iso(s.server_time), s.value, s.quality.value])
        finally:
            if fh is not sys.stdout:
                fh.close()
        if str(csv_path) != "-":
            Console(stderr=True).print(f"{len(samples)} values written to {csv_path} / {len(samples)}개 값 저장")
        return
    table = Table(title=f"{len(samples)} stored values / 저장된 값 {len(samples)}개", title_justify="left")
    for col in ("node id", "source time", "server time", "value", "quality"):
        table.add_column(col, overflow="fold")
    for s in samples:
        table.add_row(s.tag_id, _iso(s.source_time), _iso(s.server_time), repr(s.value), s.quality.value)
    Console().print(table)


def _event_history(conn: Any, notifiers: list[str], t0: datetime, t1: datetime, csv_path: Path | None) -> None:
    async def go() -> list[Any]:
        async with conn:
            got: list[Any] = await conn.event_history(notifiers or None, t0, t1)
            return got

    alarms = _run(go())
    cols = ("time", "receive_time", "severity", "active", "acked", "confirmed", "source", "message", "condition_id",
            "branch_id", "event_id")
    rows = [[_iso(a.time), _iso(a.receive_time), a.severity, a.active, a.acked, a.confirmed,
             a.source_name or a.source_node, a.message, a.condition_id, a.branch_id or "", a.event_id] for a in alarms]
    if csv_path is not None:
        fh = sys.stdout if str(csv_path) == "-" else csv_path.open("w", encoding="utf-8", newline="")
        try:
            w = csv.writer(fh)
            w.writerow(cols)
            w.writerows(rows)
        finally:
            if fh is not sys.stdout:
                fh.close()
        if str(csv_path) != "-":
            Console(stderr=True).print(f"{len(rows)} alarm events written to {csv_path} / "
                                       f"알람 이벤트 {len(rows)}개 저장")
        return
    table = Table(title=f"{len(rows)} stored alarm events / 저장된 알람 이벤트 {len(rows)}개", title_justify="left")
    for col in cols[:8]:
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(*(escape(str(v)) for v in r[:8]))
    Console().print(table)


@connect_app.command("alarms")
def alarms(
    endpoint: str = typer.Argument(..., help="opc.tcp://host:port/path (path optional)"),
    sources: list[str] = typer.Option([], "--source", help="notifier node id (default: the Server object)"),
    refresh: bool = typer.Option(True, "--refresh/--no-refresh",
                                 help="first list the alarms already active (ConditionRefresh)"),
    seconds: float | None = typer.Option(None, "--seconds", help="stop after S seconds (default: Ctrl-C)"),
    min_severity: int = typer.Option(1, "--min-severity", help="only alarms of at least this severity (1..1000)"),
    jsonl: Path | None = typer.Option(None, "--jsonl", help="also append every alarm event to this JSON-lines log "
                                      "(for 'factorypilot alarms stats')"),
    policy: str = _POLICY, mode: str = _MODE, cert: Path | None = _CERT, key: Path | None = _KEY,
    trust: list[Path] = _TRUST, trust_unknown: bool = _TRUST_UNKNOWN, username: str | None = _USER,
    timeout: float = _TIMEOUT,
) -> None:
    """List the server's alarms (OPC UA Alarms & Conditions) live, with the server's own text (Korean kept).

    Alarms active before we connected come first, marked "refreshed"; then every change; a gap while the
    server is unreachable.

    Example:  factorypilot connect alarms opc.tcp://192.168.0.10:4840 --refresh --seconds 30
    """
    import contextlib

    from factorypilot.connectors import EventFilter
    from factorypilot.vocabulary import AlarmEvent

    if not 1 <= min_severity <= 1000:
        raise ConfigError("--min-severity must be 1..1000", where="--min-severity")
    conn = _connector(endpoint, policy, mode, cert, key, trust, trust_unknown, username, timeout)
    console = Console()
    flt = EventFilter(min_severity=min_severity, refresh=refresh)

    log = jsonl.open("a", encoding="utf-8") if jsonl is not None else None

    async def stream() -> None:
        async with conn, contextlib.aclosing(conn.events(sources or None, flt)) as items:
            async for item in items:
                if log is not None and isinstance(item, AlarmEvent):
                    log.write(item.model_dump_json() + "\n")
                    log.flush()
                if not isinstance(item, AlarmEvent):
                    console.print(f"[yellow]gap[/] {item.start.isoformat()} → "
                                  f"{item.end.isoformat() if item.end else '…'}: {item.reason}", highlight=False)
                    continue
                state = "[red]ACTIVE 발생[/]" if item.active else "[green]normal 정상[/]"
                ack = "" if item.acked else " [bold]unacked 미확인[/]"
                mark = " (refreshed 기존 알람)" if item.refreshed else ""
                console.print(f"{item.time.isoformat()}  sev {item.severity:4d}  {state}{ack}  "
                              f"{escape(item.source_name or item.source_node)}: {escape(item.message)}{mark}  "
                              f"[dim]{escape(item.event_type)} {escape(item.condition_id)}[/]", highlight=False)

    try:
        _stream_until(stream, seconds, console)
    finally:
        if log is not None:
            log.close()
