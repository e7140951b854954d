"""``factorypilot demo``: the whole loop on the embedded default, in well under a minute."""

from __future__ import annotations

import asyncio
import time

import typer
from rich.console import Console

from factorypilot.cli._render import render_report
from factorypilot.errors import FactoryPilotError
from factorypilot.settings import get_settings

console = Console()


def demo(
    seed: int = typer.Option(7, help="simulator seed (runs are deterministic given a seed)"),
    lang: str = typer.Option("en", "--lang", help="report language: en or ko"),
    approval: bool = typer.Option(False, "--approval", help="wait for a person to approve in the web console "
                                  "(factorypilot console is started on 127.0.0.1)"),
    port: int = typer.Option(8765, "--port", help="console port with --approval"),
) -> None:
    """Run the mobility pilot against the built-in simulated plant and print what it did.

    Starts a simulated CNC + press line on 127.0.0.1 (OPC-UA), injects a rising spindle vibration, and lets
    the pilot detect it, plan a safe action, pass the safety policy, act, read the value back and record
    everything in the hash-chained ledger under FACTORYPILOT_HOME (default ./.factorypilot).

    With --approval the pilot asks a person first: the console serves on 127.0.0.1, you log in and approve
    the change in Korean (a demo approver is created on first use and its password printed once).

    Example:  factorypilot demo --lang ko
              factorypilot demo --approval
    """
    if approval:
        from factorypilot.cli._console_demo import approval_demo

        approval_demo(seed=seed, port=port)
        return
    from factorypilot.pilots.demo import run_demo

    home = get_settings().home
    started = time.monotonic()
    with console.status("starting the simulated plant …") as status:
        result = asyncio.run(run_demo(home=home, seed=seed, lang=lang, say=lambda m: status.update(m)))
    report = result.outcome.report or {}
    console.rule(f"[bold]factorypilot demo[/] — pilot mobility-cnc on {result.endpoint}")
    render_report(report, console, lang=lang)
    writes = [w for w in result.writes]
    console.print(f"plant writes accepted by the server: {len(writes)} "
                  f"({', '.join(f'{role}={value}' for _, role, value in writes)})")
    console.print(f"spindle vibration: peak {result.vibration_peak:.2f} → {result.vibration_after:.2f} mm/s")
    verdict = "[green]verified[/]" if result.ledger.ok else f"[red]BROKEN: {result.ledger.problems[0]}[/]"
    console.print(f"ledger {result.ledger_path}: {result.ledger.records} records, chain {verdict}")
    console.print(f"done in {time.monotonic() - started:.1f} s — data under {home}")
    if report.get("status") != "done" or not result.ledger.ok:
        raise FactoryPilotError(f"demo run ended with status {report.get('status')!r}",
                                hint="run with --debug for the agent's log")
