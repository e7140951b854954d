"""``factorypilot mes``: ingest, watch, inspect and query MES file exports.

Config (optional, YAML): the ``mes-files`` connector config — ``source``, ``watch_dir``, ``mappings`` ...
(see docs/connectors/mes.md). Unknown keys are an error.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from factorypilot.connectors.mes import IngestReport, MesFilesConfig

mes_app = typer.Typer(name="mes", help="MES file exports: CSV/TSV, XLSX, JSON(L), ISA-95 B2MML.\n\n"
                      "Example:  factorypilot mes inspect 생산실적.csv", no_args_is_help=True)
console = Console()

_CONFIG = typer.Option(None, "--config", "-c", help="YAML config of the mes-files connector")
_SOURCE = typer.Option(None, "--source", "-s", help="store name (FACTORYPILOT_HOME/mes/<source>.sqlite)")
_KIND = typer.Option(None, "--kind", "-k", help="record kind: work_order, production, scrap, downtime, lot, "
                     "material, equipment (guessed from the columns if not given)")
_ENCODING = typer.Option(None, "--encoding", "-e", help="text encoding (detected if not given), e.g. cp949")


def _config(path: Path | None, source: str | None, encoding: str | None = None,
            kind: str | None = None) -> MesFilesConfig:
    import yaml
    from pydantic import ValidationError

    from factorypilot.connectors.mes import MappingConfig, MesFilesConfig
    from factorypilot.connectors.registry import config_error
    from factorypilot.errors import ConfigError

    data: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read config: {exc}", where=str(path), hint="check the path and YAML") from exc
        if not isinstance(loaded, dict):
            raise ConfigError("the config must be a mapping", where=str(path))
        data = loaded
    if source:
        data["source"] = source
    try:
        cfg = MesFilesConfig.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, where=str(path) if path else "command line") from exc
    if encoding or kind:
        extra: dict[str, Any] = {"encoding": encoding} if encoding else {}
        if kind:
            extra["kind"] = kind
        mappings = [m.model_copy(update=extra) for m in cfg.mappings] or [MappingConfig.model_validate(extra)]
        cfg = cfg.model_copy(update={"mappings": mappings})
    return cfg


def _report_table(reports: list[IngestReport]) -> Table:
    table = Table(title="MES ingest")
    for col in ("file", "format", "encoding", "kinds", "total", "accepted", "quarantined", "new", "updated",
                "duplicates"):
        table.add_column(col, justify="right" if col in ("total", "accepted", "quarantined", "new", "updated",
                                                          "duplicates") else "left")
    for r in reports:
        table.add_row(Path(r.file).name, r.format + (f" ({r.detail})" if r.detail else ""), r.encoding or "-",
                      ",".join(r.kinds), str(r.total), str(r.accepted), str(r.quarantined), str(r.inserted),
                      str(r.updated), str(r.duplicates))
    return table


@mes_app.command()
def ingest(
    files: list[Path] = typer.Argument(..., help="export files"),
    config: Path | None = _CONFIG,
    source: str | None = _SOURCE,
    kind: str | None = _KIND,
    encoding: str | None = _ENCODING,
) -> None:
    """Ingest export files once: accepted rows are stored, bad rows quarantined, duplicates skipped.

    Example:  factorypilot mes ingest 생산실적_1125.csv --source daegu-cnc
    """
    from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TimeRemainingColumn

    from factorypilot.connectors.mes import MesFilesConnector

    cfg = _config(config, source, encoding, kind)

    async def run() -> list[IngestReport]:
        out = []
        async with MesFilesConnector(cfg) as conn:
            for f in files:
                size = f.stat().st_size if f.is_file() else 0
                if size > 8 << 20:
                    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                                  TimeRemainingColumn(), console=console, transient=True) as bar:
                        task = bar.add_task(f.name, total=size)

                        def advance(n: int, bar: Progress = bar, task: TaskID = task) -> None:
                            bar.update(task, completed=n)

                        out.append(await conn.ingest(f, progress=advance))
                else:
                    out.append(await conn.ingest(f))
        return out

    reports = asyncio.run(run())
    console.print(_report_table(reports))
    for r in reports:
        console.print(f"{Path(r.file).name}: accepted {r.accepted} / quarantined {r.quarantined} / "
                      f"duplicates {r.duplicates}" + (f" / blank lines {r.blank_lines}" if r.blank_lines else ""),
                      highlight=False)
        if r.quarantine_file:
            console.print(f"  quarantine: {r.quarantine_file}", highlight=False)


@mes_app.command()
def watch(
    folder: Path | None = typer.Argument(None, help="folder to watch (default: watch_dir from the config)"),
    config: Path | None = _CONFIG,
    source: str | None = _SOURCE,
    once: bool = typer.Option(False, "--once", help="ingest the files already there, then stop"),
) -> None:
    """Watch a folder: new or changed exports are ingested once they stop changing. Ctrl-C stops.

    Example:  factorypilot mes watch D:/MES/export --source daegu-cnc
    """
    from factorypilot.connectors.mes import MesFilesConnector

    cfg = _config(config, source)

    async def run() -> None:
        stop = asyncio.Event()
        async with MesFilesConnector(cfg) as conn:
            if once:
                stop.set()
            async for event in conn.watch(folder, stop_event=stop):
                if event.report is not None:
                    r = event.report
                    console.print(f"{event.path.name}: accepted {r.accepted} / quarantined {r.quarantined} / "
                                  f"duplicates {r.duplicates} ({r.encoding or r.format})", highlight=False)
                else:
                    console.print(f"[red]{event.path.name}: {event.error}[/]", highlight=False)

    asyncio.run(run())


@mes_app.command()
def inspect(
    file: Path = typer.Argument(..., help="an export file"),
    config: Path | None = _CONFIG,
    kind: str | None = _KIND,
    encoding: str | None = _ENCODING,
    rows: int = typer.Option(5, "--rows", "-n", help="preview rows"),
) -> None:
    """Show the detected format/encoding, the columns, a preview and what the mapping makes of it.

    Example:  factorypilot mes inspect 생산실적.csv
    """
    from factorypilot.connectors.mes import MesFilesConnector

    cfg = _config(config, None, encoding, kind)
    rep = asyncio.run(MesFilesConnector(cfg).inspect(file, rows=rows))
    console.print(f"[bold]{file.name}[/]: format {rep.format} {rep.detail}, encoding {rep.encoding or '-'}"
                  + (f", delimiter {rep.delimiter!r}" if rep.delimiter else ""), highlight=False)
    console.print(f"record kind: {rep.kind}", highlight=False)
    mapping = Table(title="columns -> canonical fields")
    mapping.add_column("source column")
    mapping.add_column("field")
    for col in rep.columns:
        mapping.add_row(col, rep.mapping.get(col, "[dim](unmapped)[/]"))
    console.print(mapping)
    if rep.missing_required:
        console.print(f"[red]required fields not mapped: {rep.missing_required}[/]")
    for title, data in (("preview (as exported)", rep.preview), ("records (what would be stored)", rep.records)):
        if not data:
            continue
        t = Table(title=title)
        for col in data[0]:
            t.add_column(str(col), overflow="fold")  # fold, never cut: a truncated id or time misleads
        for row in data:
            t.add_row(*["" if v is None else str(v) for v in row.values()])
        console.print(t)
    console.print(f"first batch: accepted {rep.accepted} / quarantined {rep.quarantined}", highlight=False)
    for p in rep.problems[:10]:
        console.print(f"  row {p['row']} column {p['column']!r}: {p['reason']} (expected {p['expected']})",
                      highlight=False)


@mes_app.command()
def query(
    what: str = typer.Argument(..., help="scrap-rate | downtime | records"),
    kind: str | None = typer.Option(None, "--kind", "-k", help="record kind for 'records'"),
    config: Path | None = _CONFIG,
    source: str | None = _SOURCE,
    limit: int = typer.Option(20, "--limit", help="rows to show for 'records'"),
    as_json: bool = typer.Option(False, "--json", help="print JSON lines instead of a table"),
) -> None:
    """Query the stored records: scrap rate per shift, downtime per machine, or raw records of a kind.

    Example:  factorypilot mes query scrap-rate --source daegu-cnc
    """
    from factorypilot.connectors.mes import MesFilesConnector
    from factorypilot.errors import ConfigError

    cfg = _config(config, source)

    async def run() -> list[dict[str, Any]]:
        async with MesFilesConnector(cfg) as conn:
            if what == "scrap-rate":
                return await conn.scrap_rate_per_shift()
            if what == "downtime":
                return await conn.downtime_per_machine()
            if what == "records":
                if not kind:
                    raise ConfigError("'records' needs --kind", hint="e.g. --kind production")
                return await conn.records(kind, limit=limit)
            raise ConfigError(f"unknown query {what!r}", hint="use scrap-rate, downtime or records")

    rows = asyncio.run(run())
    if as_json:
        import json

        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False, default=str))
        return
    table = Table(title=f"{what} ({cfg.source})")
    if not rows:
        console.print(f"no {what} data in source {cfg.source!r}; ingest exports first", highlight=False)
        return
    for col in rows[0]:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*[f"{v:.2%}" if k == "scrap_rate" else ("" if v is None else str(v)) for k, v in row.items()])
    console.print(table)
