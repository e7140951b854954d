"""Minting write permits. Imported only by ``factorypilot.agents.safety`` and ``factorypilot.testing``."""

from __future__ import annotations

from factorypilot.permits import _PROCESS_KEY, WritePermit
from factorypilot.vocabulary import ActionRequest


def mint(request: ActionRequest, policy: str) -> WritePermit:
    """Issue a permit for ``request``. Only the safety layer (and the contract-test helper) call this."""
    return WritePermit(fingerprint=request.fingerprint(), policy=policy, _key=_PROCESS_KEY)
