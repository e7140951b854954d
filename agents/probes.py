"""Probe points of the agent graph that tests can hook: ``before:<node>``, ``after:<node>``, ``act:after_plan``,
``act:after_issue`` (``:method``/``:note`` for those kinds) and ``act:after_write``.

Production installs no probe, so :func:`fire` does nothing. The durability tests install one that kills the process
with SIGKILL at a chosen point (``tests/e2e/_crashing_cli.py``), so production code carries no test switch.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Probe", "fire", "install"]

Probe = Callable[[str], None]
_probes: list[Probe] = []


def install(probe: Probe) -> Callable[[], None]:
    """Call ``probe(point)`` at every probe point from now on; returns a function that removes it again."""
    _probes.append(probe)
    return lambda: _probes.remove(probe) if probe in _probes else None


def fire(point: str) -> None:
    """Called by the graph at each probe point."""
    for probe in tuple(_probes):
        probe(point)
