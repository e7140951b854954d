"""Connectors: how factorypilot reads from and (through the safety layer) writes to a plant.

Public: :class:`BaseConnector`, :class:`ConnectorConfig`, :class:`Capability`, :class:`Health`,
the registry functions and :class:`InMemoryConnector`. Concrete connectors live in sub-packages
(``opcua``, ``mes``) and are found through the ``factorypilot.connectors`` entry-point group.
"""

from factorypilot.connectors.base import BaseConnector, Capability, ConnectorConfig, EventFilter, Health
from factorypilot.connectors.memory import InMemoryConnector
from factorypilot.connectors.registry import available, create, load

__all__ = [
    "BaseConnector",
    "Capability",
    "ConnectorConfig",
    "EventFilter",
    "Health",
    "InMemoryConnector",
    "available",
    "create",
    "load",
]
