"""factorypilot — manufacturing AI agent pilots.

The public API is this module's ``__all__`` (pinned by ``tests/test_public_api.py``). Sub-packages:
``factorypilot.connectors``, ``factorypilot.knowledge``, ``factorypilot.agents``, ``factorypilot.pilots``;
test helpers in ``factorypilot.testing``.
"""

from factorypilot._version import __version__
from factorypilot.errors import (
    ConfigError,
    ConnectionError_,
    DataError,
    FactoryPilotError,
    SafetyViolation,
    SecurityError,
)
from factorypilot.permits import WritePermit
from factorypilot.settings import Settings, get_settings
from factorypilot.vocabulary import (
    ActionKind,
    ActionRequest,
    ActionResult,
    ActionStatus,
    AssetPath,
    DataType,
    Event,
    Gap,
    Limits,
    Quality,
    Sample,
    Severity,
    Tag,
)

__all__ = [
    "ActionKind",
    "ActionRequest",
    "ActionResult",
    "ActionStatus",
    "AssetPath",
    "ConfigError",
    "ConnectionError_",
    "DataError",
    "DataType",
    "Event",
    "FactoryPilotError",
    "Gap",
    "Limits",
    "Quality",
    "SafetyViolation",
    "Sample",
    "SecurityError",
    "Settings",
    "Severity",
    "Tag",
    "WritePermit",
    "__version__",
    "get_settings",
]
