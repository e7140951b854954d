"""The side-effecting nodes: ``act`` (exactly once) and ``verify`` (read-back), plus approval edits.

Exactly-once, step by step, for action *i* of run *r* with key ``r:act:i:<fingerprint>``:

1. key already ``executed``/``verified``/``failed`` → replay: report it, do not touch the plant;
2. key ``started`` (the process died between recording intent and recording success): for a tag write,
   read the tag — if it already holds the value the write landed, so mark it executed without writing
   again; a method call is never repeated (marked ``unconfirmed`` for a person to check);
3. otherwise re-check the policy against *fresh* values (conditions may have changed while a person was
   deciding), record ``started`` (committed), execute with a permit from the guard, record ``executed``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from factorypilot.agents.safety import Decision
from factorypilot.connectors.base import BaseConnector
from factorypilot.errors import FactoryPilotError
from factorypilot.vocabulary import ActionKind, ActionRequest, ActionResult, ActionStatus, Sample, Scalar

if TYPE_CHECKING:
    from factorypilot.agents.graph import AgentState
    from factorypilot.agents.runtime_deps import RuntimeDeps

__all__ = ["act", "apply_edits", "same_value", "verify"]

_FINAL = {"executed", "verified", "failed", "unconfirmed", "refused"}


def same_value(a: Scalar, b: Scalar, tol: float = 1e-6) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b) if isinstance(a, bool) and isinstance(b, bool) else a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), abs_tol=tol, rel_tol=1e-9)
    return a == b


def _result(req: ActionRequest, status: ActionStatus, key: str, reason: str = "", **kw: Any) -> dict[str, Any]:
    return ActionResult(request=req, status=status, reason=reason, idempotency_key=key, **kw).model_dump(mode="json")


def apply_edits(d: RuntimeDeps, state: AgentState, answer: dict[str, Any]) -> list[dict[str, Any]]:
    """Apply a person's edits (``{"<index>": value}``) to waiting actions; edited values pass the guard again."""
    edits = {str(k): v for k, v in (answer.get("edits") or {}).items()}
    if not edits:
        return list(state["decisions"])
    current = {k: v.get("value") for k, v in state.get("current", {}).items()}
    out = []
    for i, item in enumerate(state["decisions"]):
        if str(i) in edits or item["request"]["target"] in edits:
            new_value = edits.get(str(i), edits.get(item["request"]["target"]))
            req = ActionRequest.model_validate(item["request"]).model_copy(
                update={"value": new_value, "requested_by": f"edited by {answer.get('by')}"})
            dec = d.guard.evaluate(req, current, d.store.recent_actions())
            if not dec.allowed:
                dec = Decision(allowed=False, reasons=["edited value refused: " + "; ".join(dec.reasons)])
            item = {"request": req.model_dump(mode="json"), "decision": dec.model_dump(mode="json")}
        out.append(item)
    return out


async def _fresh_values(d: RuntimeDeps, extra: list[str]) -> dict[str, Scalar]:
    ids = list(dict.fromkeys(d.observed_tag_ids() + extra))
    return {s.tag_id: s.value for s in await d.connector.read(ids)}


async def act(d: RuntimeDeps, state: AgentState, crash_hook: Callable[[str], None]) -> dict[str, Any]:
    run_id = state["run_id"]
    approval = state.get("approval") or {}
    results: list[dict[str, Any]] = []
    for i, item in enumerate(state["decisions"]):
        req = ActionRequest.model_validate(item["request"])
        dec = Decision.model_validate(item["decision"])
        key = f"{run_id}:act:{i}:{req.fingerprint()}"
        if not dec.allowed:
            results.append(_result(req, ActionStatus.REFUSED, key, "; ".join(dec.reasons)))
            continue
        if dec.needs_approval and approval.get("decision") != "approve":
            why = f"rejected by {approval.get('by')}" + (f": {approval['comment']}" if approval.get("comment") else "")
            d.ledger.append("action", {"target": req.target, "status": "rejected", "reason": why}, run_id=run_id,
                            key=f"{key}:rejected")
            results.append(_result(req, ActionStatus.REJECTED, key, why))
            continue
        row = d.store.action(key)
        if row is not None and row.state in _FINAL:  # a replayed node: the plant was already touched
            status = ActionStatus.REFUSED if row.state == "refused" else ActionStatus.UNCONFIRMED
            results.append(_result(req, status, key, row.detail, executed_value=req.value) | {
                "executed": row.state in ("executed", "verified")})
            continue
        is_plant = req.kind in (ActionKind.WRITE, ActionKind.METHOD)
        fresh = await _fresh_values(d, [req.target] if req.kind is ActionKind.WRITE else []) if is_plant else {}
        if row is not None:  # state 'started': we died mid-action
            recovered = _recover(d, req, key, fresh)
            if recovered is not None:
                results.append(recovered)
                continue
        dec_now = d.guard.evaluate(req, fresh, d.store.recent_actions()) if is_plant else dec
        if not dec_now.allowed or (dec_now.needs_approval and not dec.needs_approval):
            why = "conditions changed before acting: " + ("; ".join(dec_now.reasons) or "now needs approval")
            results.append(_refuse(d, run_id, req, key, why))
            continue
        if d.config.policy.dry_run_on_simulator and req.kind is ActionKind.WRITE:
            rehearsal_problem = await _rehearse(d, req, dec_now)
            if rehearsal_problem:
                results.append(_refuse(d, run_id, req, key, rehearsal_problem))
                continue
            d.ledger.append("dry-run", {"target": req.target, "value": req.value, "result": "ok"}, run_id=run_id,
                            key=f"{key}:dry-run")
        d.store.start_action(key, run_id, req.target, req.kind.value, req.model_dump(mode="json"))
        try:
            if req.kind is ActionKind.NOTE:
                d.store.add_note(key, run_id, req.target, str(req.value))
            else:
                permit = d.guard.permit(req, dec_now, approved=True)
                if req.kind is ActionKind.WRITE:
                    await d.connector.write(req, permit)
                else:
                    await d.connector.call(req, permit)
        except FactoryPilotError as exc:
            d.store.mark_action(key, "failed", str(exc))
            d.ledger.append("action", {"target": req.target, "value": req.value, "status": "failed",
                                       "error": str(exc)}, run_id=run_id, key=f"{key}:failed")
            results.append(_result(req, ActionStatus.FAILED, key, str(exc)))
            continue
        crash_hook("act:after_write")
        d.store.mark_action(key, "executed")
        d.ledger.append("action", {"target": req.target, "kind": req.kind.value, "value": req.value,
                                   "from": fresh.get(req.target), "idempotency_key": key,
                                   "approved_by": approval.get("by")}, run_id=run_id, key=f"{key}:executed")
        results.append(_result(req, ActionStatus.UNCONFIRMED, key, "awaiting read-back",
                               executed_value=req.value) | {"executed": True, "from": fresh.get(req.target)})
    return {"results": results}


def _refuse(d: RuntimeDeps, run_id: str, req: ActionRequest, key: str, why: str) -> dict[str, Any]:
    """Record a refusal found at act time (action table + ledger) so a replay does not try again."""
    d.store.start_action(key, run_id, req.target, req.kind.value, req.model_dump(mode="json"))
    d.store.mark_action(key, "refused", why)
    d.ledger.append("refusal", {"target": req.target, "value": req.value, "reasons": [why]}, run_id=run_id,
                    key=f"{key}:refused")
    return _result(req, ActionStatus.REFUSED, key, why)


async def _rehearse(d: RuntimeDeps, req: ActionRequest, decision: Decision) -> str:
    """Write to the simulator first and read it back; return why it failed ('' when it passed)."""
    if d.rehearsal is None:
        return "the policy requires a dry run on the simulator, but no simulator is configured"
    sim_tag = d.rehearsal_roles.get(d.role_of(req.target))
    if sim_tag is None:
        return f"dry run impossible: role of {req.target!r} does not exist on the simulator"
    rehearsal = req.model_copy(update={"target": sim_tag})
    try:
        await d.rehearsal.write(rehearsal, d.guard.permit(rehearsal, decision, approved=True))
        status, why, _ = await _read_back(d.rehearsal, {sim_tag: req.value}, d.config.verify.attempts,
                                          d.config.verify.interval_s, d.config.verify.tolerance)
    except FactoryPilotError as exc:
        return f"dry run on the simulator failed: {exc}"
    return "" if status is ActionStatus.DONE else f"dry run on the simulator failed: {why}"


def _recover(d: RuntimeDeps, req: ActionRequest, key: str, fresh: dict[str, Scalar]) -> dict[str, Any] | None:
    """Resolve an action found in state 'started' after a crash, or return None to execute it now."""
    if req.kind is ActionKind.WRITE and same_value(fresh.get(req.target), req.value, d.config.verify.tolerance):
        d.store.mark_action(key, "executed", "recovered after restart: value already written")
        return _result(req, ActionStatus.UNCONFIRMED, key, "recovered after restart", executed_value=req.value) | {
            "executed": True}
    if req.kind is ActionKind.NOTE and d.store.note(key) is not None:
        d.store.mark_action(key, "executed", "recovered after restart")
        return _result(req, ActionStatus.UNCONFIRMED, key, "recovered", executed_value=req.value) | {"executed": True}
    if req.kind is ActionKind.METHOD:
        why = "interrupted during a method call; not repeated — confirm on site"
        d.store.mark_action(key, "unconfirmed", why)
        return _result(req, ActionStatus.UNCONFIRMED, key, why)
    return None


async def verify(d: RuntimeDeps, state: AgentState) -> dict[str, Any]:
    run_id = state["run_id"]
    cfg = d.config.verify
    out: list[dict[str, Any]] = []
    for r in state.get("results", []):
        if not r.get("executed"):
            out.append(r)
            continue
        req = ActionRequest.model_validate(r["request"])
        key = r["idempotency_key"]
        expect = dict(req.expect) or ({req.target: req.value} if req.kind is ActionKind.WRITE else {})
        read_back: Sample | None = None
        if req.kind is ActionKind.NOTE:
            note = d.store.note(key)
            ok = note is not None and note[1] == str(req.value)
            status, why = (ActionStatus.DONE, "note stored and read back") if ok else (
                ActionStatus.FAILED, "note not found on read-back")
        elif not expect:
            status, why = ActionStatus.UNCONFIRMED, "method result cannot be read back (no expectation declared)"
        else:
            status, why, read_back = await _read_back(d.connector, expect, cfg.attempts, cfg.interval_s,
                                                      cfg.tolerance)
        d.store.mark_action(key, {"done": "verified"}.get(status.value, status.value), why)
        d.ledger.append("read-back", {"target": req.target, "expected": expect, "read": read_back.value
                                      if read_back else None, "status": status.value, "reason": why},
                        run_id=run_id, key=f"{key}:verify")
        out.append(ActionResult(request=req, status=status, executed_value=r.get("executed_value"),
                                read_back=read_back, reason=why, idempotency_key=key).model_dump(mode="json")
                   | {"executed": True, "from": r.get("from")})
    return {"results": out}


async def _read_back(connector: BaseConnector[Any], expect: dict[str, Scalar], attempts: int, interval: float,
                     tol: float) -> tuple[ActionStatus, str, Sample | None]:
    last: list[Sample] = []
    error = ""
    for attempt in range(attempts):
        try:
            last = await connector.read(list(expect))
            error = ""
        except FactoryPilotError as exc:
            error = str(exc)
        if last and all(same_value(s.value, expect[s.tag_id], tol) for s in last):
            return ActionStatus.DONE, "read back " + ", ".join(f"{s.value}" for s in last), last[0]
        if attempt + 1 < attempts:
            await asyncio.sleep(interval)
    if error:
        return ActionStatus.UNCONFIRMED, f"read-back failed: {error}", None
    got = ", ".join(f"{s.tag_id}={s.value}" for s in last)
    return ActionStatus.FAILED, f"read-back does not match: expected {expect}, read {got}", last[0] if last else None
