"""Lazy public names for a package ``__init__`` (PEP 562): the names are pinned in ``__all__`` and imported from
their module on first use, so packages whose modules import each other need no eager, circular imports."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: public name → the name of its sub-module (``"harness"``)."""

    def load(name: str) -> Any:
        if name in where:
            return getattr(import_module(f".{where[name]}", package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return load
