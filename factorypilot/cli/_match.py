"""``factorypilot match FIRM_PROFILE.yaml`` — rank templates for a firm and explain why."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def match(profile: Path = typer.Argument(..., help="firm profile YAML (sector, equipment, data_sources, goals)"),
          catalog: Path | None = typer.Option(None, "--catalog", help="extra catalog folder or index.yaml"),
          lang: str | None = typer.Option(None, "--lang", help="ko or en (default: the profile's)"),
          top: int = typer.Option(5, "--top", min=1, help="how many templates to show"),
          as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table")) -> None:
    """Rank catalog templates for a firm profile, with an explanation per template (Korean/English).

    Example:  factorypilot match firm.yaml --lang ko
    """
    from factorypilot.cli._catalog import open_catalog
    from factorypilot.pilots.matching import load_profile, match_templates

    prof = load_profile(profile)
    language = lang or prof.lang
    ranked = match_templates(prof, open_catalog(catalog))[:top]
    if as_json:
        typer.echo(json.dumps([{"template": m.entry.id, "score": m.score, "reasons": m.explain(language)}
                               for m in ranked], ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{prof.name}: {'추천 템플릿' if language == 'ko' else 'recommended templates'}")
    for col in ("#", "template", "score", "why" if language == "en" else "근거"):
        table.add_column(col)
    for i, m in enumerate(ranked, 1):
        table.add_row(str(i), f"{m.entry.id}\n{m.entry.title(language)}", f"{m.score:.2f}",
                      "\n".join(m.explain(language)))
    console.print(table)
