"""``factorypilot ledger show|verify``: read and check the hash-chained audit ledger."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from factorypilot.errors import ConfigError, LedgerIntegrityError
from factorypilot.settings import get_settings

ledger_app = typer.Typer(help="Inspect and verify the tamper-evident audit ledger.", no_args_is_help=True)
console = Console()


def _open(path: Path | None, head: Path | None = None):  # type: ignore[no-untyped-def]
    """The ledger, read-only (``mode=ro``: nothing is created, not even a table), with both heads."""
    from factorypilot.agents import Ledger

    p = path or get_settings().home / "ledger.sqlite"
    if not p.exists():
        raise ConfigError(f"no ledger at {p}", hint="run a pilot first (factorypilot demo), or pass --path")
    anchor = p.with_name("agent.sqlite")
    return Ledger(p, readonly=True, head_path=head, anchor_db=anchor if anchor.exists() else None)


@ledger_app.command("show")
def show(
    run: str | None = typer.Option(None, "--run", help="only records of this run id"),
    kind: str | None = typer.Option(None, "--kind", help="only this kind (observation, decision, action ...)"),
    limit: int = typer.Option(30, help="newest N records"),
    as_json: bool = typer.Option(False, "--json", help="print JSON lines instead of a table"),
    path: Path | None = typer.Option(None, "--path", help="ledger file (default FACTORYPILOT_HOME/ledger.sqlite)"),
) -> None:
    """Show ledger records, newest last.

    Example:  factorypilot ledger show --kind action --limit 10
    """
    with _open(path) as led:
        records = led.records(run_id=run, kind=kind, limit=limit)
    if as_json:
        for r in records:
            typer.echo(json.dumps({"seq": r.seq, "time": r.time, "kind": r.kind, "run_id": r.run_id,
                                   "payload": r.payload, "hash": r.hash}, ensure_ascii=False))
        return
    table = Table(title=f"ledger — {len(records)} record(s)")
    for col in ("seq", "time", "kind", "run", "payload", "hash"):
        table.add_column(col, overflow="fold")
    for r in records:
        table.add_row(str(r.seq), r.time[:19], r.kind, r.run_id or "-",
                      json.dumps(r.payload, ensure_ascii=False)[:120], r.hash[:12])
    console.print(table)


@ledger_app.command("verify")
def verify(
    path: Path | None = typer.Option(None, "--path", help="ledger file (default FACTORYPILOT_HOME/ledger.sqlite); "
                                                          "opened read-only"),
    head: Path | None = typer.Option(None, "--head", help="head file (default: beside the ledger, NAME.head)"),
    anchor: Path | None = typer.Option(None, "--anchor", help="external anchor file to check against (default: "
                                       "FACTORYPILOT_LEDGER_ANCHOR); signatures with FACTORYPILOT_LEDGER_KEY"),
) -> None:
    """Recompute the hash chain and check it against both heads (the head file and the copy in agent.sqlite);
    exit 1 naming the first edited, deleted or reordered record, or when a head is missing or disagrees
    (then a truncated tail cannot be ruled out).

    Example:  factorypilot ledger verify --path backup/ledger.sqlite --head backup/ledger.head
    Example:  FACTORYPILOT_LEDGER_KEY=... factorypilot ledger verify --anchor /mnt/nas/line1.anchor
    """
    with _open(path, head) as led:
        # the home's own ledger must have its second head; a copied ledger may come with its head file only
        settings = get_settings()
        external = anchor or settings.ledger_anchor
        report = led.verify(require_anchor=path is None, external=external, key=settings.ledger_key_bytes())
    for note in report.notes:
        console.print(f"[yellow]![/] {note}")
    if not report.ok:
        for p in report.problems:
            console.print(f"[red]✗[/] {p}")
        raise LedgerIntegrityError(f"ledger chain broken: {report.problems[0]}", where=f"record {report.first_bad_seq}",
                                   hint="restore the ledger from a backup; records from this point are untrusted")
    heads = "head file and agent.sqlite head" if led.anchor_path is not None else "head file"
    if external is not None:
        heads += f" and the external anchor {external.name}"
    console.print(f"[green]✓[/] ledger intact: {report.records} records, chain and {heads} verified "
                  f"/ 원장 무결성 확인")


@ledger_app.command("anchor")
def anchor(
    to: Path | None = typer.Option(None, "--to", help="external anchor file (default: FACTORYPILOT_LEDGER_ANCHOR); "
                                   "lines are appended, never rewritten"),
) -> None:
    """Append the ledger's current head to an external anchor file on another disk or share, signed with
    FACTORYPILOT_LEDGER_KEY if set. `ledger verify --anchor FILE` then detects a ledger truncated or rewritten
    after that moment, even when both heads in the home were rewritten too. (A pilot with
    FACTORYPILOT_LEDGER_ANCHOR set appends a line after every run by itself.)

    Example:  FACTORYPILOT_LEDGER_KEY=... factorypilot ledger anchor --to /mnt/nas/line1.anchor
    """
    from factorypilot.agents import Ledger

    settings = get_settings()
    target = to or settings.ledger_anchor
    if target is None:
        raise ConfigError("no anchor file", hint="pass --to FILE or set FACTORYPILOT_LEDGER_ANCHOR")
    p = settings.home / "ledger.sqlite"
    if not p.exists():
        raise ConfigError(f"no ledger at {p}", hint="run a pilot first (factorypilot demo)")
    with Ledger(p, readonly=True, anchor_db=None) as led:
        line = led.anchor_to(target, settings.ledger_key_bytes())
    if line is None:
        console.print("the ledger is empty: nothing to anchor / 원장이 비어 있음")
        return
    signed = "signed" if "hmac" in line else "unsigned (set FACTORYPILOT_LEDGER_KEY to sign)"
    console.print(f"[green]✓[/] anchored record {line['seq']} ({line['hash'][:12]}…) in {target}, {signed} "
                  f"/ 외부 앵커에 기록함", highlight=False)
