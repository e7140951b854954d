"""Faster asyncua server start-up: fill the standard address space (~6,000 nodes, ~1 s of CPU) once per
process, then give every later server a structural copy of it (~0.1 s).

Only the standard nodes produced by ``fill_address_space`` are copied — before asyncua binds any callbacks to
its server — so each server still owns its nodes. Values (``DataValue``) are shared: asyncua replaces them
on write, it does not mutate them. If asyncua changes shape, we fall back to its own loader.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

from asyncua.server.address_space import AttributeValue, NodeData
from asyncua.server.server import Server

__all__ = ["install"]

_log = logging.getLogger(__name__)
_template: dict[Any, NodeData] | None = None


def _clone(nodes: dict[Any, NodeData]) -> dict[Any, NodeData]:
    out: dict[Any, NodeData] = {}
    for nid, data in nodes.items():
        node = NodeData(nid)
        node.attributes = {k: AttributeValue(cast(Any, v.value)) for k, v in data.attributes.items()}
        node.references = [copy.copy(r) for r in data.references]
        out[nid] = node
    return out


def install(server: Server) -> None:
    """Make ``server.init()`` reuse this process's standard address space (call before ``init``)."""
    iserver = server.iserver
    original: Callable[..., Awaitable[None]] = iserver.load_standard_address_space

    async def load(shelf_file: Path | None = None) -> None:
        global _template
        if shelf_file is not None:
            await original(shelf_file)
            return
        nodes = iserver.aspace._nodes
        if _template is not None and not nodes:
            nodes.update(_clone(_template))
            return
        await original(shelf_file)
        try:
            _template = _clone(nodes)
        except (AttributeError, TypeError) as exc:  # asyncua internals changed: keep the slow path
            _log.debug("standard address space cannot be cached: %s", exc)

    iserver.load_standard_address_space = load  # type: ignore[method-assign]
