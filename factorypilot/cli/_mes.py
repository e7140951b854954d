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


_COUNTS = ("total", "new", "replaced", "duplicates", "conflicts", "quarantined")


def fold(value: object, limit: int = 200) -> str:
    """A cell for a terminal table: long text is shortened with its length said, never silently cut."""
    text = "" if value is None else str(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} chars / 글자)"


def _report_table(reports: list[IngestReport]) -> Table:
    dry = any(r.dry_run for r in reports)
    table = Table(title="MES ingest — DRY RUN, nothing stored / 시험 실행, 저장 안 함" if dry else "MES ingest")
    for col in ("file", "format", "encoding", "kinds", *_COUNTS):
        table.add_column(col, justify="right" if col in _COUNTS else "left", overflow="fold")
    for r in reports:
        table.add_row(Path(r.file).name, r.format + (f" ({r.detail})" if r.detail else ""), r.encoding or "-",
                      ",".join(r.kinds), str(r.total), str(r.inserted), str(r.replaced), str(r.duplicates),
                      str(r.conflicts), str(r.quarantined))
    return table


def _conflicts_table(r: IngestReport) -> Table:
    """Every conflict of a file with both versions (the fields that differ)."""
    t = Table(title=f"{Path(r.file).name}: conflicts / 충돌 (same key, other values; on_conflict: {r.on_conflict})")
    for col in ("row", "line", "key", "field", "stored / 저장된 값", "incoming / 새 값", "action"):
        t.add_column(col, overflow="fold")
    for c in r.conflict_list:
        for f in c["differs"]:
            t.add_row(str(c["row"]), str(c["line"]), fold(" | ".join(c["key"]), 80), f, fold(c["stored"][f]),
                      fold(c["incoming"][f]), c["action"])
    return t


@mes_app.command()
def ingest(
    files: list[Path] = typer.Argument(..., help="export files"),
    config: Path | None = _CONFIG,
    source: str | None = _SOURCE,
    kind: str | None = _KIND,
    encoding: str | None = _ENCODING,
    dry_run: bool = typer.Option(False, "--dry-run", help="show what would be stored, replaced and quarantined; "
                                 "store nothing"),
) -> None:
    """Ingest export files: new rows stored, bad rows and conflicts quarantined, duplicates skipped.

    A file no mapping of the config covers is refused (exit 1) unless --kind is given. A conflict (same key,
    other values) is never stored silently: it is quarantined (default) or replaces the stored row when the
    mapping says `on_conflict: replace`, and listed with both versions either way.

    Example:  factorypilot mes ingest 생산실적_1125.csv --config mapping.yaml --dry-run
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

                        out.append(await conn.ingest(f, progress=advance, dry_run=dry_run))
                else:
                    out.append(await conn.ingest(f, dry_run=dry_run))
        return out

    reports = asyncio.run(run())
    console.print(_report_table(reports))
    for r in reports:
        console.print(f"{Path(r.file).name}: accepted {r.accepted} (new {r.inserted}, replaced {r.replaced}, "
                      f"duplicates {r.duplicates}) / quarantined {r.quarantined} / conflicts {r.conflicts}"
                      + (f" / blank lines {r.blank_lines}" if r.blank_lines else ""), highlight=False,
                      soft_wrap=True)
        if r.conflict_list:
            console.print(_conflicts_table(r))
            if r.conflicts > len(r.conflict_list):
                console.print(f"  … {r.conflicts - len(r.conflict_list)} more conflicts in the quarantine file",
                              highlight=False)
        if r.quarantine_file:
            console.print(f"  quarantine: {r.quarantine_file}", highlight=False)
        if r.schema_note:
            console.print(f"  [yellow]![/] {r.schema_note}", highlight=False, soft_wrap=True)
        elif r.schema_valid is False:
            console.print(f"  [yellow]![/] schema_valid: false (ingested anyway / 스키마 불일치, 저장함): "
                          f"{fold('; '.join(r.schema_violations[:3]), 300)}", highlight=False, soft_wrap=True)


@mes_app.command()
def watch(
    folder: Path | None = typer.Argument(None, help="folder to watch (default: watch_dir from the config)"),
    config: Path | None = _CONFIG,
    source: str | None = _SOURCE,
    kind: str | None = _KIND,
    encoding: str | None = _ENCODING,
    once: bool = typer.Option(False, "--once", help="ingest the files already there, then stop"),
) -> None:
    """Watch a folder: new or changed exports are ingested once they stop changing. Ctrl-C stops.

    A file no mapping of the config covers is refused (reported, the watch goes on) unless --kind is given:
    then every file is read as that kind (as `mes ingest --kind`).

    Example:  factorypilot mes watch D:/MES/export --source daegu-cnc --kind production --encoding cp949
    """
    from factorypilot.connectors.mes import MesFilesConnector

    cfg = _config(config, source, encoding, kind)

    async def run() -> None:
        stop = asyncio.Event()
        async with MesFilesConnector(cfg) as conn:
            if once:
                stop.set()
            async for event in conn.watch(folder, stop_event=stop):
                if event.report is not None:
                    r = event.report
                    console.print(f"{event.path.name}: accepted {r.accepted} (new {r.inserted}, replaced "
                                  f"{r.replaced}, duplicates {r.duplicates}) / quarantined {r.quarantined} / "
                                  f"conflicts {r.conflicts} ({r.encoding or r.format})", highlight=False,
                                  soft_wrap=True)
                    if r.conflict_list:
                        console.print(_conflicts_table(r))
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
    if rep.mapping_named:
        console.print(f"record kind: {rep.kind} (from the config's mapping)", highlight=False)
    else:
        scores = ", ".join(f"{k} {v:.2f}" for k, v in sorted(rep.kind_scores.items(), key=lambda kv: -kv[1]))
        console.print(f"record kind (proposed / 추정): {rep.kind}  [columns mapped per kind: {scores or '-'}]\n"
                      f"no mapping covers this file: `mes ingest` will refuse it. Write one with / 매핑 파일 만들기:\n"
                      f"  factorypilot mes init-mapping {file.name} > mapping.yaml", highlight=False)
    mapping = Table(title="columns -> canonical fields")
    mapping.add_column("source column", overflow="fold")
    mapping.add_column("field")
    mapping.add_column("confidence", justify="right")
    for col in rep.columns:
        if col in rep.mapping:
            mapping.add_row(fold(col, 80), rep.mapping[col], f"{rep.confidence.get(col, 0):.2f}")
        else:
            mapping.add_row(fold(col, 80), "[dim](unmapped -> extra)[/]", "")
    console.print(mapping)
    if rep.missing_required:
        console.print(f"[red]required fields not mapped: {rep.missing_required}[/]")
    for title, data in (("preview (as exported)", rep.preview), ("records (what would be stored)", rep.records)):
        if not data:
            continue
        t = Table(title=title)
        for col in data[0]:
            t.add_column(fold(col, 80), overflow="fold")  # fold; a long cell says how long it is
        for row in data:
            t.add_row(*[fold(v) for v in row.values()])
        console.print(t)
    console.print(f"first batch: accepted {rep.accepted} / quarantined {rep.quarantined}", highlight=False)
    for p in rep.problems[:10]:
        console.print(f"  row {p['row']} line {p.get('line')} column {fold(p['column'], 80)!r}: "
                      f"{p.get('code', '')} {fold(p['reason'])}", highlight=False)


@mes_app.command("init-mapping")
def init_mapping(
    file: Path = typer.Argument(..., help="an export file"),
    kind: str | None = _KIND,
    encoding: str | None = _ENCODING,
) -> None:
    """Propose a mapping file for an export (kind, columns, date formats, status words) to check and edit.

    Example:  factorypilot mes init-mapping 생산실적_0106.csv > mapping.yaml
    """
    from factorypilot.connectors.mes import MesFilesConnector, RecordKind
    from factorypilot.connectors.mes._propose import mapping_yaml
    from factorypilot.errors import DataError

    cfg = _config(None, None, encoding, kind)
    rep = asyncio.run(MesFilesConnector(cfg).inspect(file, rows=200))
    if rep.kind is None or rep.format == "b2mml":
        raise DataError("B2MML needs no mapping" if rep.format == "b2mml" else "cannot propose a kind",
                        file=str(file), hint="ingest B2MML directly" if rep.format == "b2mml" else "pass --kind")
    sample = rep.preview
    typer.echo(mapping_yaml(file.name, RecordKind(rep.kind), rep.mapping, rep.confidence, rep.unmapped,
                            rep.encoding, sample), nl=False)


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
        table.add_row(*[f"{v:.2%}" if k == "scrap_rate" else fold(v) for k, v in row.items()])
    console.print(table)
