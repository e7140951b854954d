"""``factorypilot programme record|report`` — programme KPIs across firms."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from factorypilot.errors import ConfigError

programme_app = typer.Typer(help="Programme KPIs: baseline vs current across deployed firms.", no_args_is_help=True)
console = Console()


def _pairs(items: list[str], where: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"{where} expects KPI=NUMBER, got {item!r}", hint="e.g. --baseline oee=0.61") from None
        if not sep or not key.strip():
            raise ConfigError(f"{where} expects KPI=NUMBER, got {item!r}", hint="e.g. --baseline oee=0.61")
    return out


@programme_app.command("record")
def record(project: Path = typer.Option(Path("."), "--project", help="project folder"),
           baseline: list[str] = typer.Option([], "--baseline", help="KPI=value before the pilot; repeatable"),
           current: list[str] = typer.Option([], "--current", help="KPI=value now; repeatable")) -> None:
    """Record a deployment's baseline and/or current KPIs (oee, productivity, downtime, scrap_rate, mttr).

    Example:  factorypilot programme record --project mobility-cnc-성서정밀 --baseline oee=0.61 --current oee=0.68
    """
    from factorypilot.pilots.spreading.programme import record_kpis
    from factorypilot.pilots.spreading.templates import Project

    data = record_kpis(Project.open(project), baseline=_pairs(baseline, "--baseline"),
                       current=_pairs(current, "--current"))
    console.print(f"baseline {data['baseline']} · current {data['current']}")


@programme_app.command("report")
def report(roots: list[Path] = typer.Argument(..., help="project folders, or folders containing them"),
           out: Path = typer.Option(Path("programme-report"), "--out", help="output folder"),
           lang: str = typer.Option("ko", "--lang", help="ko or en")) -> None:
    """Aggregate KPIs across firms: firms, deployed solutions, KPI change vs baseline (Markdown, JSON, chart).

    Example:  factorypilot programme report firms/ --lang ko --out report-2026q4
    """
    from factorypilot.pilots.spreading.programme import collect, write_report
    from factorypilot.pilots.spreading.programme import report as build

    rep = build(collect(roots))
    files = write_report(rep, out, lang=lang)
    console.print(rep.to_markdown(lang))
    console.print("wrote " + ", ".join(str(p) for p in files.values()))
