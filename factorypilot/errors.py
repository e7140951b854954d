"""One error hierarchy for the whole framework.

Every error says three things: **what** went wrong, **where** (file/row/column, node id, endpoint, config
key) and **what to do next** (``hint``). The CLI prints ``str(error)`` as one line; ``--debug`` adds the
traceback. Library code never raises bare ``Exception`` subclasses of its own outside this tree.
"""

from __future__ import annotations

__all__ = [
    "ApprovalError",
    "AuthenticationError",
    "CapabilityError",
    "ConfigError",
    "ConnectionError_",
    "ConnectorTimeout",
    "DataError",
    "DependencyMissing",
    "FactoryPilotError",
    "LeaseHeldError",
    "LedgerIntegrityError",
    "ModelUnavailableError",
    "NodeNotFoundError",
    "SafetyViolation",
    "SecurityError",
    "SecurityPolicyMismatch",
    "StorageError",
    "UntrustedCertificateError",
]


class FactoryPilotError(Exception):
    """Base of every error factorypilot raises on purpose.

    ``message`` says what happened, ``where`` locates it, ``hint`` says what to do next.
    """

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        text = self.message
        if self.where:
            text += f" (at {self.where})"
        if self.hint:
            text += f" — {self.hint}"
        return text


class ConfigError(FactoryPilotError):
    """A configuration file, key or value is invalid (unknown key, wrong type, missing value)."""


class DependencyMissing(ConfigError):
    """An optional extra is needed but not installed; the hint carries the ``pip install`` line."""

    def __init__(self, package: str, extra: str, *, feature: str) -> None:
        super().__init__(
            f"{feature} needs the optional package {package!r}, which is not installed",
            hint=f'install it with: pip install "factorypilot[{extra}]"',
        )
        self.package = package
        self.extra = extra


class ModelUnavailableError(ConfigError):
    """A configured model (embedding, chat) cannot be loaded; raised at start-up, never at query time."""


class ConnectionError_(FactoryPilotError):  # noqa: N801 - trailing underscore avoids the builtin name
    """A connector could not reach or lost its endpoint."""


class ConnectorTimeout(ConnectionError_):
    """An endpoint did not answer in time."""


class CapabilityError(FactoryPilotError):
    """A connector was asked for something it does not declare in ``capabilities``."""


class NodeNotFoundError(FactoryPilotError):
    """A tag / node id does not exist on the endpoint."""


class SecurityError(FactoryPilotError):
    """Authentication, certificates or security policy."""


class AuthenticationError(SecurityError):
    """Wrong user name or password, or the identity was refused."""


class UntrustedCertificateError(SecurityError):
    """The server's certificate is not in the trust list."""


class SecurityPolicyMismatch(SecurityError):
    """Client and server do not share the requested security policy / mode."""


class DataError(FactoryPilotError):
    """Input data is malformed. Carries the location so a person can find the bad cell."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        parts = [p for p in (file, f"row {row}" if row is not None else None,
                             f"column {column!r}" if column is not None else None) if p]
        super().__init__(message, where=", ".join(parts) or None, hint=hint)
        self.file = file
        self.row = row
        self.column = column


class SafetyViolation(FactoryPilotError):
    """An action was refused by the safety policy (or a write was attempted around it)."""

    def __init__(self, message: str, *, reasons: list[str] | None = None, where: str | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, where=where, hint=hint)
        self.reasons = list(reasons or [])


class ApprovalError(FactoryPilotError):
    """An approval decision cannot be applied (unknown run, already decided, edit outside policy)."""


class LedgerIntegrityError(FactoryPilotError):
    """The audit ledger's hash chain is broken: a record was edited, deleted or reordered."""


class StorageError(FactoryPilotError):
    """A local database file cannot be used: read-only, locked, corrupted or missing. Names the file."""


class LeaseHeldError(FactoryPilotError):
    """Another live process already runs this pilot on this ``FACTORYPILOT_HOME``."""
