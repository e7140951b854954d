"""OPC UA connector (asyncua >= 2.1). See ``docs/connectors/opcua.md``.

``OpcUaConnector.Config`` is :class:`OpcUaConfig`; the entry point is ``opcua``.
"""

from factorypilot.connectors.opcua._config import OpcUaConfig
from factorypilot.connectors.opcua._connector import OpcUaConnector
from factorypilot.connectors.opcua._security import thumbprints
from factorypilot.connectors.opcua._session import quiet_asyncua

__all__ = ["OpcUaConfig", "OpcUaConnector", "quiet_asyncua", "thumbprints"]
