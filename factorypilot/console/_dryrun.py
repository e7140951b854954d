"""The dry run shown before a person approves: what the safety guard would decide if the action were taken
now, and the value before → after.

It runs the real :class:`~factorypilot.agents.Guard` (nothing is written, nothing is sent): the tag rule is the
snapshot stored with the request (the one edits are checked against), the pilot's interlocks and read-only
switch come from its spec, rate limits from the actions already executed, and the current value from the
live subscription when the console has one — otherwise the value at request time, and the page says so
(interlocks are then not evaluated, because their signals are not known).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from factorypilot.agents import Guard, SafetyPolicy, TagRule
from factorypilot.console._live import LiveValue
from factorypilot.pilots.spec import PilotSpec
from factorypilot.vocabulary import ActionKind, ActionRequest

__all__ = ["dry_run"]


def dry_run(info: Mapping[str, Any], spec: PilotSpec | None, roles: Mapping[str, str],
            live: Mapping[str, LiveValue], recent: Sequence[tuple[datetime, str]] = ()) -> dict[str, Any] | None:
    """The guard's verdict on one proposed write (``None`` for methods and notes: nothing to compare)."""
    rule, target = info.get("rule"), str(info.get("target"))
    if info.get("kind") != "write" or not rule:
        return None
    tag_rule = TagRule.model_validate({**rule, "target": target})
    policy = SafetyPolicy(name="request snapshot", tags=[tag_rule],
                          writes_enabled=spec.policy.writes_enabled if spec else True,
                          interlocks=list(spec.policy.interlocks) if spec and live else [])
    current: dict[str, Any] = {roles[r]: v.value for r, v in live.items() if r in roles and v.quality == "good"}
    basis = "live" if target in current else "request"
    if basis == "request":
        current[target] = info.get("current")
    decision = Guard(policy, roles).evaluate(ActionRequest(kind=ActionKind.WRITE, target=target,
                                                           value=info.get("value")), current, recent)
    return {"before": current.get(target), "after": info.get("value"), "allowed": decision.allowed,
            "needs_approval": decision.needs_approval, "reasons": decision.reasons, "basis": basis,
            "reasons_ko": decision.reasons_in("ko"), "codes": [c.code for c in decision.codes],
            "interlocks_checked": bool(live) and spec is not None}
