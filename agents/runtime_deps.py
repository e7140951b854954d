"""The dependencies the graph's nodes share (one object, so nodes stay plain functions of state)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from factorypilot.agents.config import AgentConfig
from factorypilot.agents.ledger import Ledger
from factorypilot.agents.planners.base import Planner
from factorypilot.agents.safety import Guard
from factorypilot.agents.store import RunStore
from factorypilot.connectors.base import BaseConnector
from factorypilot.vocabulary import Tag

__all__ = ["Retriever", "RuntimeDeps"]


class Retriever(Protocol):
    """Company knowledge lookup. Hits are dicts with at least ``text`` and ``citation``."""

    async def search(self, query: str, k: int = 3) -> list[dict[str, Any]]: ...


@dataclass
class RuntimeDeps:
    config: AgentConfig
    connector: BaseConnector[Any]
    guard: Guard
    planner: Planner
    ledger: Ledger
    store: RunStore
    retriever: Retriever | None = None
    tag_meta: dict[str, Tag] = field(default_factory=dict)
    rehearsal: BaseConnector[Any] | None = None
    """A simulator plant to rehearse writes on first (``policy.dry_run_on_simulator``)."""
    rehearsal_roles: dict[str, str] = field(default_factory=dict)

    def observed_tag_ids(self) -> list[str]:
        roles = self.config.observe or list(self.config.roles)
        return [self.config.roles.get(r, r) for r in roles]

    def role_of(self, tag_id: str) -> str:
        for role, tid in self.config.roles.items():
            if tid == tag_id:
                return role
        return tag_id
