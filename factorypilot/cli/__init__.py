"""The ``factorypilot`` command line. ``main`` is the console-script entry point."""

from factorypilot.cli._app import app, main

__all__ = ["app", "main"]
