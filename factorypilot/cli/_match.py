"""``factorypilot match PROFILE|FOLDER`` — rank templates for firms and cite why; ``--example``, ``--schema``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def _table(ranking: object, lang: str, top: int) -> None:
    from factorypilot.pilots.spreading._folder_report import pct, t
    from factorypilot.pilots.spreading.matching import Ranking

    assert isinstance(ranking, Ranking)
    p = ranking.profile
    title = f"{p.name}: {'추천 템플릿' if lang == 'ko' else 'recommended templates'} · {t('conf', lang)} " \
            f"{pct(ranking.confidence)}" + (f" · {t('close', lang)}" if ranking.close_call else "")
    table = Table(title=title, show_lines=True)
    for col in ("#", t("template", lang), t("score", lang), t("why", lang)):
        table.add_column(col)
    for i, m in enumerate(ranking.matches[:top], 1):
        ref = f" ({t('reference', lang)})" if m.entry.reference else ""
        table.add_row(str(i), f"{m.entry.id}{ref}\n{m.entry.title(lang)}", f"{m.score:.2f}",
                      "\n".join(m.explain(lang)))
    console.print(table)
    for d in ranking.decide:
        console.print(f"  {t('decide', lang)}: {d.get(lang) or d['en']}", highlight=False)


def match(path: Path | None = typer.Argument(None, help="firm profile (YAML/JSON) or a folder of profiles"),
          catalog: Path | None = typer.Option(None, "--catalog", help="extra catalog folder or index.yaml"),
          no_reference: bool = typer.Option(False, "--no-reference",
                                            help="leave the shipped reference pilots out of the catalog"),
          lang: str | None = typer.Option(None, "--lang", help="ko or en (default: each profile's language)"),
          top: int = typer.Option(4, "--top", min=1, help="how many templates to show per firm"),
          fmt: str = typer.Option("table", "--format", help="table, md (Markdown) or json"),
          as_json: bool = typer.Option(False, "--json", help="same as --format json"),
          out: Path | None = typer.Option(None, "--out", help="write the Markdown/JSON to this file"),
          example: bool = typer.Option(False, "--example", help="print a commented blank profile (Korean)"),
          schema: bool = typer.Option(False, "--schema", help="print the profile's JSON Schema")) -> None:
    """Rank catalog templates for a firm (or every firm in a folder), citing the firm's goals (Korean/English).

    Example:  factorypilot match --example > firm.yaml ; factorypilot match firm.yaml --lang ko
              factorypilot match profiles/ --format md --out matching.md
    """
    from factorypilot.cli._catalog import open_catalog
    from factorypilot.errors import ConfigError
    from factorypilot.pilots.spreading._folder_report import (
        ProgrammeMatch,
        match_folder,
        render_markdown,
        summary_rows,
        t,
        to_json,
    )
    from factorypilot.pilots.spreading._profile_example import example_profile
    from factorypilot.pilots.spreading.matching import load_profile, match_templates, profile_schema

    if example:
        typer.echo(example_profile(lang or "ko"), nl=False)
        return
    if schema:
        typer.echo(json.dumps(profile_schema(), ensure_ascii=False, indent=2))
        return
    if path is None:
        raise ConfigError("give a firm profile or a folder of profiles (프로필 파일이나 폴더를 지정하세요)",
                          hint="factorypilot match firm.yaml (write one from: factorypilot match --example)")
    fmt = "json" if as_json else fmt
    if fmt not in ("table", "md", "json"):
        raise ConfigError(f"unknown --format {fmt!r}", hint="use table, md or json")
    cat = open_catalog(catalog, reference=not no_reference)
    if path.is_dir():
        pm = match_folder(path, cat)
    else:
        profile, warnings = load_profile(path)
        pm = ProgrammeMatch([match_templates(profile, cat, warnings=warnings)])
    language = lang or (pm.rankings[0].profile.lang if pm.rankings else "ko")
    for r in pm.rankings:
        for w in r.warnings:
            err_console.print(f"[yellow]warning:[/] {r.profile.id}: {w}", highlight=False, soft_wrap=True)
    if fmt == "table" and out is None:
        for r in pm.rankings:
            _table(r, lang or r.profile.lang, top)
        if len(pm.rankings) > 1 or pm.failures:
            table = Table(title=t("summary", language))
            for col in ("firm", "start", "conf", "close", "second"):
                table.add_column(t(col, language))
            for row in summary_rows(pm, language):
                table.add_row(*row)
            console.print(table)
    else:
        text = json.dumps(to_json(pm, language, top=top), ensure_ascii=False, indent=2) + "\n" if fmt == "json" \
            else render_markdown(pm, language, top=top)
        if out is not None:
            out.write_text(text, encoding="utf-8")
            console.print(f"wrote {out}")
        else:
            typer.echo(text, nl=False)
    for name, error in pm.failures:
        err_console.print(f"[bold red]error:[/] {name}: {error}", highlight=False, soft_wrap=True)
    if pm.failures:
        raise typer.Exit(1)
