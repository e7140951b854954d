"""Checking a person's edits (``runs approve --set INDEX=VALUE``) at decision time, not an hour later.

The approval request carries a snapshot of what the policy allows for each waiting action (its rule and the
value the tag had when the request was made). ``validate_edits`` refuses an edit that names no waiting
action, changes a value's type, is not a finite number, or falls outside the rule's range or step — with the
reason — so a refused edit never becomes a silent "✓ approved". The service checks edits again, on fresh
values, before acting.
"""

from __future__ import annotations

import math
from typing import Any

from factorypilot.agents.safety import Guard, SafetyPolicy, TagRule
from factorypilot.errors import ApprovalError
from factorypilot.vocabulary import ActionKind, ActionRequest

__all__ = ["edit_rules", "validate_edits"]


def edit_rules(guard: Guard, decisions: list[dict[str, Any]], current: dict[str, Any]) -> dict[str, Any]:
    """The policy snapshot stored with an approval request: per waiting action index, its rule and value."""
    out: dict[str, Any] = {}
    for i, item in enumerate(decisions):
        dec = item["decision"]
        if not (dec["allowed"] and dec["needs_approval"]):
            continue
        req = ActionRequest.model_validate(item["request"])
        target = guard.roles.get(req.target, req.target)
        rule = next((r for r in guard.policy.tags if guard.roles.get(r.target, r.target) == target), None)
        out[str(i)] = {"target": target, "kind": req.kind.value, "value": req.value,
                       "rule": rule.model_dump(mode="json") if rule else None, "current": current.get(target)}
    return out


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def validate_edits(request: dict[str, Any], edits: dict[str, Any]) -> dict[str, Any]:
    """Edits keyed by action index (a tag id also works), checked against the stored policy snapshot."""
    rules: dict[str, Any] = request.get("edit_rules") or {}
    by_target = {r["target"]: i for i, r in rules.items()}
    out: dict[str, Any] = {}
    for key, value in edits.items():
        index = str(key) if str(key) in rules else by_target.get(str(key))
        if index is None:
            raise ApprovalError(f"edit {key}={value!r} names no action waiting for approval",
                                hint="waiting actions: " + (", ".join(f"{i} ({r['target']})" for i, r in
                                                                      rules.items()) or "none"))
        info = rules[index]
        where = f"action {index} ({info['target']})"
        if info["kind"] != ActionKind.WRITE.value:
            raise ApprovalError(f"{where} is a {info['kind']}; only tag writes can be edited", hint="drop --set")
        if _is_number(info["value"]) and not _is_number(value):
            raise ApprovalError(f"edit {key}={value!r} is not a number, but {where} takes one",
                                hint="give a number, e.g. --set 0=90")
        if _is_number(value) and not math.isfinite(value):
            raise ApprovalError(f"edit {key}={value!r} is not a finite number", hint="give a number, e.g. --set 0=90")
        if info.get("rule"):
            rule = TagRule.model_validate(info["rule"]).model_copy(update={"max_changes": None})
            guard = Guard(SafetyPolicy(tags=[rule]), {rule.target: info["target"]})
            req = ActionRequest(kind=ActionKind.WRITE, target=info["target"], value=value, reason="edit")
            decision = guard.evaluate(req, {info["target"]: info.get("current")})
            if not decision.allowed:
                raise ApprovalError(f"edit {key}={value!r} is outside the policy for {where}: "
                                    + "; ".join(decision.reasons), hint="choose a value the policy allows")
        out[index] = value
    return out
