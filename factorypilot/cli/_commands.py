"""Registration of the command groups. Each group lives in its own module; add one line here."""

from __future__ import annotations

import logging

import typer

_log = logging.getLogger("factorypilot.cli")

def register(app: typer.Typer) -> None:
    """Attach every command group to the root app (imports are local so ``--help`` stays quick)."""
    if getattr(app, "_factorypilot_registered", False):
        return
    app._factorypilot_registered = True  # type: ignore[attr-defined]
    from factorypilot.cli._mes import mes_app

    app.add_typer(mes_app, name="mes")
    from factorypilot.cli._simulator import simulator_app

    app.add_typer(simulator_app, name="simulator")
    from factorypilot.cli._knowledge import knowledge_app

    app.add_typer(knowledge_app, name="knowledge")
    from factorypilot.cli._demo import demo

    app.command("demo")(demo)
    from factorypilot.cli._ledger import ledger_app

    app.add_typer(ledger_app, name="ledger")
    from factorypilot.cli._connect import connect_app

    app.add_typer(connect_app, name="connect")
    from factorypilot.cli._alarms import alarms_app

    app.add_typer(alarms_app, name="alarms")
    from factorypilot.cli._pilot import pilot_app

    app.add_typer(pilot_app, name="pilot")
    from factorypilot.cli._llm import llm_app

    app.add_typer(llm_app, name="llm")
    from factorypilot.cli._runs import runs_app

    app.add_typer(runs_app, name="runs")
    from factorypilot.cli._eval import eval_command

    app.command("eval")(eval_command)
    _sector_commands(app)  # e.g. ABB's `trace`, declared by the sector pilot package (factorypilot.pilots group)
    from factorypilot.cli._template import template_app

    app.add_typer(template_app, name="template")
    from factorypilot.cli._catalog import catalog_app

    app.add_typer(catalog_app, name="catalog")
    from factorypilot.cli._match import match

    app.command("match")(match)
    from factorypilot.cli._programme import programme_app

    app.add_typer(programme_app, name="programme")
    from factorypilot.cli._mcp import mcp_app

    app.add_typer(mcp_app, name="mcp")
    from factorypilot.cli._console import console_command, users_app

    app.command("console")(console_command)
    app.add_typer(users_app, name="users")


def _sector_commands(app: typer.Typer) -> None:
    """Commands a sector pilot declares (``SectorPilot.commands``: name → ``"module:attribute"``, a function or a
    ``typer.Typer``). A name the CLI already has is refused with a warning; a broken one is skipped."""
    from factorypilot.pilots.sectors import load_object, sector_pilots

    taken = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    for pilot_name, pilot in sector_pilots().items():
        for name, ref in pilot.commands.items():
            if name in taken:
                _log.warning("sector pilot %r: command %r already exists; not registered", pilot_name, name)
                continue
            try:
                obj = load_object(ref)
            except (ImportError, AttributeError) as exc:
                _log.warning("sector pilot %r: command %r (%s) cannot be loaded: %s", pilot_name, name, ref, exc)
                continue
            if isinstance(obj, typer.Typer):
                app.add_typer(obj, name=name)
            else:
                app.command(name)(obj)
            taken.add(name)
