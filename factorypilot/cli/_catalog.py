"""``factorypilot catalog list|show|search`` — the templates a firm can deploy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from factorypilot.settings import get_settings

catalog_app = typer.Typer(help="Template catalog: local folders, an index file, installed packages.",
                          no_args_is_help=True)
console = Console()
_SOURCE = typer.Option(None, "--catalog", help="extra catalog folder or index.yaml")


def open_catalog(catalog: Path | None, *, reference: bool = True) -> Any:
    """The default catalog: exported templates under FACTORYPILOT_HOME, ``--catalog``, installed packages and
    (unless ``reference=False``) the shipped reference pilots, so a fresh install has templates to match."""
    from factorypilot.pilots.spreading.catalog import Catalog

    home = get_settings().home
    folders = [home / "templates"] + ([catalog] if catalog and catalog.is_dir() else [])
    return Catalog.discover(folders=folders, index=catalog if catalog and catalog.is_file() else None,
                            reference=reference, home=home)


def _table(entries: list[Any], lang: str, scores: list[float] | None = None) -> Table:
    table = Table(title="templates")
    for col in ("id", "version", "sector", "title", "KPIs", "gate", *(["score"] if scores else [])):
        table.add_column(col, no_wrap=col in ("id", "version", "sector", "gate", "score"))
    for i, e in enumerate(entries):
        gate = "passed" if e.manifest.gate.passed else ("override" if e.manifest.gate.overridden else
                                                        "not evaluated" if e.reference else "failed")
        gate += " (reference)" if e.reference else ""
        table.add_row(e.id, e.manifest.version, e.manifest.sector, e.title(lang), ", ".join(e.manifest.kpis), gate,
                      *([f"{scores[i]:.1f}"] if scores else []))
    return table


@catalog_app.command("list")
def list_(catalog: Path | None = _SOURCE, lang: str = typer.Option("en", "--lang", help="en or ko")) -> None:
    """List the templates in the catalog.

    Example:  factorypilot catalog list --lang ko
    """
    console.print(_table(open_catalog(catalog).list(), lang))


@catalog_app.command("show")
def show(template: str = typer.Argument(..., help="template id"), catalog: Path | None = _SOURCE,
         lang: str = typer.Option("en", "--lang", help="en or ko")) -> None:
    """Show one template: description, roles to map, KPIs, gate result, where it comes from.

    Example:  factorypilot catalog show mobility-cnc --lang ko
    """
    from factorypilot.agents.planners.base import localized

    e = open_catalog(catalog).get(template)
    m = e.manifest
    console.rule(f"{m.id} {m.version} — {e.title(lang)}")
    console.print(e.description(lang))
    roles = Table(title="roles to map")
    for col in ("role", "meaning", "required"):
        roles.add_column(col)
    for r, d in m.roles.items():
        roles.add_row(r, localized(d, lang), "yes" if r in m.required_roles else "")
    console.print(roles)
    gate = m.gate
    console.print(f"KPIs: {', '.join(m.kpis)} · scenarios: {m.scenarios} · simulator: {m.simulator_model}")
    console.print(f"gate: {'passed' if gate.passed else 'NOT passed'}"
                  + (f" (override by {gate.by}: {gate.reason})" if gate.overridden else ""))
    for label, items in (("solves", m.solves), ("needs", m.needs), ("not for", m.not_for)):
        for st in items:
            console.print(f"{label}: {st.text(lang)}", highlight=False, soft_wrap=True)
    console.print(f"source: {e.source} · {e.path}", soft_wrap=True)


@catalog_app.command("search")
def search(query: str = typer.Argument(..., help="free text, Korean or English"), catalog: Path | None = _SOURCE,
           lang: str = typer.Option("en", "--lang", help="en or ko")) -> None:
    """Search templates by words and concepts (e.g. 주축 진동, spindle vibration, 프레스).

    Example:  factorypilot catalog search "스핀들 진동"
    """
    hits = open_catalog(catalog).search(query)
    if not hits:
        console.print("no template matches")
        return
    console.print(_table([e for e, _ in hits], lang, [s for _, s in hits]))
