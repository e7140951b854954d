"""A decision from the console: role, scope and CSRF checked here, then the one path every decision takes.

The console does not write the approvals table itself. It calls :meth:`factorypilot.agents.RunStore.decide`
— the same compare-and-set the CLI uses — so of two people deciding at once exactly one wins, the other is told
who decided first, and edits are checked against the policy snapshot stored with the request. The name
recorded is the logged-in user's; there is no free-text "by".
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from factorypilot.agents import RunStore
from factorypilot.agents.store import ApprovalRow
from factorypilot.console._app import PageError
from factorypilot.console._data import Scope, run_detail
from factorypilot.console._users import User

__all__ = ["decide", "parse_edits", "policy_checks"]


def parse_edits(request: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
    """Form fields ``edit_<index>`` that differ from the proposed value, as numbers where they read as one."""
    rules: dict[str, Any] = request.get("edit_rules") or {}
    edits: dict[str, Any] = {}
    for index, info in rules.items():
        raw = (form.get(f"edit_{index}") or "").strip()
        if not raw or raw == _show(info.get("value")):
            continue
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        if value != info.get("value"):
            edits[index] = value
    return edits


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else str(value)
    return "" if value is None else str(value)


def decide(home: Path, scope: Scope, user: User, run_id: str, decision: str, form: dict[str, str]) -> ApprovalRow:
    """Record ``decision`` for ``run_id`` as ``user``. Raises :class:`PageError` (403/404) or ``ApprovalError``
    (refused edit, already decided — with who and when)."""
    if not user.can("approver"):
        raise PageError(403, "error_403_role", role="approver")
    if decision not in ("approve", "reject"):
        raise PageError(400, "error_400", detail=f"decision={decision!r}")
    detail = run_detail(home, scope, run_id)  # scoped: another firm's run is simply not found
    if detail is None or detail["approval"] is None:
        raise PageError(404, "error_404_run", run_id=run_id)
    edits = parse_edits(detail["approval"].request, form)
    store = RunStore(home / "agent.sqlite")
    try:
        return store.decide(run_id, decision, user.name, edits=edits or None,
                            comment=(form.get("comment") or "").strip()[:500])
    finally:
        store.close()


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def policy_checks(info: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool | None]]:
    """(message key, values, passed) for the rules the proposed value was checked against."""
    rule, value, current = info.get("rule"), info.get("value"), info.get("current")
    if not rule:
        return [("check_no_rule", {}, True)]
    out: list[tuple[str, dict[str, Any], bool | None]] = []
    lo, hi = rule.get("min"), rule.get("max")
    if lo is not None or hi is not None:
        ok = _num(value) and (lo is None or value >= lo) and (hi is None or value <= hi)
        out.append(("check_range", {"min": _show(lo) if lo is not None else "−∞",
                                    "max": _show(hi) if hi is not None else "∞"}, bool(ok)))
    if rule.get("max_step") is not None and _num(value) and _num(current):
        step = abs(float(value or 0) - float(current or 0))  # both are finite numbers here
        out.append(("check_step", {"max_step": _show(rule["max_step"]), "current": _show(current),
                                   "step": _show(round(step, 6))}, step <= float(rule["max_step"]) + 1e-9))
    out.append(("check_approval", {"approval": rule.get("approval", "never")}, None))
    return out
