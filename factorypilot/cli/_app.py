"""Root Typer app: global options, error handling, and registration of the command groups.

Errors: a ``FactoryPilotError`` prints one line (what, where, what to do) and exits 1; ``--debug``
(or ``FACTORYPILOT_DEBUG=1``) adds the traceback. Usage errors exit 2.
"""

from __future__ import annotations

import logging
import os
import sys

import click
import typer
from rich.console import Console

from factorypilot._version import __version__
from factorypilot.cli._logging import setup_logging
from factorypilot.errors import FactoryPilotError

err_console = Console(stderr=True)

# Typer >= 0.25 vendors click as ``typer._click``; older Typer raises click's own classes. Catch both.
_ABORT: tuple[type[BaseException], ...] = (click.exceptions.Abort, typer.Abort)
_EXIT: tuple[type[BaseException], ...] = (click.exceptions.Exit, typer.Exit)
_USAGE: tuple[type[BaseException], ...] = (click.ClickException, getattr(typer, "TyperException", click.ClickException))

app = typer.Typer(
    name="factorypilot",
    help="Manufacturing AI agent pilots: simulate a plant, connect over OPC-UA, run safe agents, audit.\n\n"
    "Example:  factorypilot demo",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_state = {"debug": False}


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="show tracebacks and debug logs", envvar="FACTORYPILOT_DEBUG"),
) -> None:
    """factorypilot command line. Every command has --help with an example."""
    _state["debug"] = debug
    setup_logging(debug=debug)


@app.command()
def version() -> None:
    """Print the factorypilot version.

    Example:  factorypilot version
    """
    typer.echo(__version__)


def _register() -> None:
    from factorypilot.cli import _commands

    _commands.register(app)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    _register()
    debug = "--debug" in (argv if argv is not None else sys.argv) or os.environ.get("FACTORYPILOT_DEBUG") == "1"
    try:
        rv = app(args=argv, prog_name="factorypilot", standalone_mode=False)
    except FactoryPilotError as exc:
        if debug:
            err_console.print_exception()
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        logging.getLogger("factorypilot").debug("command failed", exc_info=exc)
        sys.exit(1)
    except _ABORT:
        err_console.print("aborted")
        sys.exit(130)
    except _EXIT as exc:
        sys.exit(getattr(exc, "exit_code", 0))
    except _USAGE as exc:  # bad option values, unknown commands: click's message, exit code 2
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err_console.print(f"error: {exc}")
        sys.exit(getattr(exc, "exit_code", 2))
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(rv if isinstance(rv, int) else 0)
