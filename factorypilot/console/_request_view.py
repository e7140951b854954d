"""An approval request as a person reads it, for the Approvals card and a run's page: who planned (and how the
plan came about), each action with its reason, proposer and the approval rule that applied, and the quoted
sources. Plain values only; the templates escape them (quoted text through the ``untrusted`` filter)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from factorypilot.console._data import LedgerRow

__all__ = ["PLAN_SOURCES", "plan_source", "planner_of", "quoted_sources", "request_view"]

PLAN_SOURCES = ("playbook", "llm", "llm-after-retry", "fallback")
"""How a plan came about (``Plan.source``, in the ``decision`` ledger record): a playbook, the chat model at
once, the chat model after re-planning on refusals or invalid answers, or the fallback planner."""


def planner_of(request: dict[str, Any]) -> str:
    """Who proposed the plan: ``llm:<model>`` when a chat model proposed actions, else the request's planner
    (``playbook``, ``llm (fallback)``); an older request without the field shows ``""``."""
    models = sorted({str(a.get("requested_by")) for a in request.get("actions") or []
                     if str(a.get("requested_by") or "").startswith("llm:")})
    return ", ".join(models) or str(request.get("planner") or "")


def quoted_sources(request: dict[str, Any]) -> list[dict[str, str]]:
    """The request's quoted sources (document text, untrusted): plain strings; the template escapes them."""
    return [{"citation": str(q.get("citation") or ""), "quoted": str(q.get("quoted") or "")}
            for q in request.get("quoted_sources") or [] if isinstance(q, dict)]


def plan_source(records: Iterable[LedgerRow]) -> str:
    """How the run's last plan came about (one of :data:`PLAN_SOURCES`), from its last ``decision`` ledger
    record; ``""`` when no record says (a run from before the field, or one that never planned). A value this
    console does not know is returned as it is, never mapped to a known one."""
    source = ""
    for r in records:
        if r.kind == "decision":
            source = str(r.payload.get("source") or "")
    return source


def request_view(request: dict[str, Any]) -> dict[str, Any]:
    """The request's diagnosis, planner, asked-for actions (kind, target, value, reason, proposer, rule), event and
    quoted sources."""
    rules = list(request.get("approval_rules") or [])
    actions = [{"kind": str(a.get("kind") or ""), "target": str(a.get("target") or ""), "value": a.get("value"),
                "reason": str(a.get("reason") or ""), "proposer": str(a.get("requested_by") or ""),
                "rule": str(rules[n] or "") if n < len(rules) else ""}
               for n, a in enumerate(request.get("actions") or []) if isinstance(a, dict)]
    return {"diagnosis": str(request.get("diagnosis") or ""), "planner": planner_of(request), "actions": actions,
            "event": str(request.get("event") or ""), "quoted": quoted_sources(request)}
