"""Connector discovery through the ``factorypilot.connectors`` entry-point group.

A third-party distribution registers ``my-plc = my_package:MyConnector`` under that group and is found
by :func:`available`, :func:`load` and :func:`create` (the same mechanism the in-tree connectors use).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from pydantic import ValidationError

from factorypilot.connectors.base import BaseConnector
from factorypilot.errors import ConfigError

__all__ = ["ENTRY_POINT_GROUP", "available", "config_error", "create", "load"]

ENTRY_POINT_GROUP = "factorypilot.connectors"


def available() -> dict[str, EntryPoint]:
    """Installed connectors by id."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load(name: str) -> type[BaseConnector[Any]]:
    eps = available()
    if name not in eps:
        raise ConfigError(f"unknown connector {name!r}",
                          hint=f"installed connectors: {', '.join(sorted(eps)) or 'none'}; a third-party "
                               f"connector must register an entry point in the {ENTRY_POINT_GROUP!r} group")
    cls = eps[name].load()
    if not (isinstance(cls, type) and issubclass(cls, BaseConnector)):
        raise ConfigError(f"entry point {name!r} does not point at a BaseConnector subclass",
                          where=eps[name].value)
    return cls


def config_error(exc: ValidationError, where: str) -> ConfigError:
    """Turn a pydantic error into one readable ConfigError naming every bad key."""
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        if err["type"] == "extra_forbidden":
            problems.append(f"unknown key {loc!r}")
        elif err["type"] == "missing":
            problems.append(f"missing key {loc!r}")
        else:
            problems.append(f"{loc}: {err['msg']}")
    return ConfigError("invalid configuration: " + "; ".join(problems), where=where,
                       hint="check spelling against the documented keys (unknown keys are never ignored)")


def create(name: str, config: Mapping[str, Any] | None = None) -> BaseConnector[Any]:
    """Instantiate connector ``name`` with a validated config (unknown keys raise ``ConfigError``)."""
    cls = load(name)
    try:
        cfg = cls.Config.model_validate(dict(config or {}))
    except ValidationError as exc:
        raise config_error(exc, where=f"connector {name!r}") from exc
    return cls(cfg)
