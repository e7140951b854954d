"""Write permits: the only key that opens ``BaseConnector.write`` / ``call``.

A permit is minted by the safety layer (``factorypilot.agents.safety``) after a request passed the policy,
and is bound to exactly that request's fingerprint. Connectors check the binding before touching the plant,
so a write cannot reach a plant around the policy by accident. Minting lives in ``factorypilot._mint``;
an import-linter contract forbids every package but the safety layer (and ``factorypilot.testing``, for
connector contract tests only) from importing it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from factorypilot.errors import SafetyViolation
from factorypilot.vocabulary import ActionRequest

__all__ = ["WritePermit"]

_PROCESS_KEY = secrets.token_hex(16)


@dataclass(frozen=True)
class WritePermit:
    """Proof that ``request`` passed a safety policy. Opaque to connectors except for ``check``."""

    fingerprint: str
    policy: str
    _key: str = field(repr=False)

    def check(self, request: ActionRequest) -> None:
        if self._key != _PROCESS_KEY:
            raise SafetyViolation("write permit was not issued by this process's safety layer",
                                  where=request.target, hint="route writes through the safety guard")
        if request.fingerprint() != self.fingerprint:
            raise SafetyViolation("write permit does not match the requested action",
                                  where=request.target,
                                  hint="a permit covers exactly one action; ask the guard again")

