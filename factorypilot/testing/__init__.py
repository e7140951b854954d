"""Test helpers shipped with the library: the connector contract suite and fakes.

``ConnectorContract`` is to connectors what meltano's tap test factory is to taps: subclass it in your
own tests, provide one fixture, and inherit every behavioural test the in-tree connectors pass.
"""

from factorypilot.testing.connector_contract import ConnectorContract, WriteCase, permit_for_tests

__all__ = ["ConnectorContract", "WriteCase", "permit_for_tests"]
