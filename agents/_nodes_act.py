"""The side-effecting nodes: ``act`` (write-ahead intent, exactly once) and ``verify`` (read-back).

Every action of run *r* has the key ``r:act:i:<fingerprint>`` and moves through
``planned → issued → confirmed | unconfirmed | failed``. Each state is committed to ``agent.sqlite`` **and**
appended to the ledger (``intent`` records for planned/issued, an ``action`` record once the plant accepted it,
a ``read-back`` record at the end) *before* the next side effect:

1. ``planned`` — the policy was re-checked on fresh values; nothing has touched the plant yet. A crash here is
   harmless: the next run of ``act`` plans again and issues.
2. ``issued`` — recorded, then the write / method call / note is sent. From here on the action is **never
   issued again automatically**, whatever happens: after a crash ``verify`` reads the plant back — at target →
   ``confirmed`` (the ledger says "confirmed after restart"); otherwise → ``unconfirmed`` and the run goes to
   ``attention``: a person decides, and a re-issue is a new approval.
3. the plant accepted it (``issued``, detail "accepted"); ``verify`` reads back → ``confirmed`` or ``failed``.

A plant that cannot be reached (before issuing, or while reading back) raises ``ConnectionError_`` out of
the node: the runtime marks the run ``waiting_for_plant`` and retries the node later; an action that was
``issued`` when the link dropped is resolved by read-back, never by writing again.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from factorypilot.agents._nodes_alarm import alarm_precheck, read_back_alarm
from factorypilot.agents._reasons import Reason, plain, texts, why
from factorypilot.agents.safety import Decision
from factorypilot.connectors.base import BaseConnector
from factorypilot.errors import ConnectionError_, FactoryPilotError
from factorypilot.vocabulary import ActionKind, ActionRequest, ActionResult, ActionStatus, AlarmEvent, Sample, Scalar

if TYPE_CHECKING:
    from factorypilot.agents.config import VerifyConfig
    from factorypilot.agents.graph import AgentState
    from factorypilot.agents.runtime_deps import RuntimeDeps

__all__ = ["act", "apply_edits", "same_value", "verify"]

_FINAL = {"confirmed", "failed", "unconfirmed", "refused"}
_ACCEPTED = "accepted by the plant"


def same_value(a: Scalar, b: Scalar, tol: float = 1e-6) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b) if isinstance(a, bool) and isinstance(b, bool) else a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), abs_tol=tol, rel_tol=1e-9)
    return a == b


def _result(req: ActionRequest, status: ActionStatus, key: str, reason: str = "", **kw: Any) -> dict[str, Any]:
    return ActionResult(request=req, status=status, reason=reason, idempotency_key=key, **kw).model_dump(mode="json")


def _coded(dec: Decision) -> list[Reason]:
    """A decision's reasons as codes (a reason recorded only as text keeps its text)."""
    return list(dec.codes) if len(dec.codes) == len(dec.reasons) else [plain(r) for r in dec.reasons]


def _refused(req: ActionRequest, key: str, reasons: list[Reason], **kw: Any) -> dict[str, Any]:
    return _result(req, ActionStatus.REFUSED, key, texts(reasons), reason_codes=reasons, **kw)


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
                dec = Decision.of([why("edited_refused", reasons=[r.model_dump() for r in _coded(dec)])])
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
            results.append(_refused(req, key, _coded(dec)))
            continue
        if dec.needs_approval and approval.get("decision") != "approve":
            rejected = f"rejected by {approval.get('by')}" + (f": {approval['comment']}" if approval.get("comment")
                                                              else "")
            d.ledger.append("action", {"target": req.target, "status": "rejected", "reason": rejected},
                            run_id=run_id, key=f"{key}:rejected")
            results.append(_result(req, ActionStatus.REJECTED, key, rejected))
            continue
        row = d.store.action(key)
        if row is not None and row.state in _FINAL:  # a replayed node: the action is settled
            status = {"refused": ActionStatus.REFUSED, "failed": ActionStatus.FAILED,
                      "confirmed": ActionStatus.DONE}.get(row.state, ActionStatus.UNCONFIRMED)
            codes = _stored_codes(d, run_id, key) if row.state == "refused" else []
            results.append(_result(req, status, key, row.detail, executed_value=req.value, reason_codes=codes) | {
                "executed": row.state != "refused", "settled": True})
            continue
        if row is not None and row.state == "issued":  # issued before a crash: never issue again
            d.ledger.append("intent", _issued_payload(req, key, approval), run_id=run_id, key=f"{key}:issued")
            if row.detail == _ACCEPTED:  # keyed: adds the record only if the crash came before it
                d.ledger.append("action", {"target": req.target, "kind": req.kind.value, "value": req.value,
                                           "status": "executed", "idempotency_key": key,
                                           "approved_by": approval.get("by"), "requested_by": req.requested_by},
                                run_id=run_id, key=f"{key}:executed")
            results.append(_result(req, ActionStatus.UNCONFIRMED, key, row.detail or "issued before a restart",
                                   executed_value=req.value) | {"executed": True,
                                                                "after_restart": row.detail != _ACCEPTED})
            continue
        is_plant = req.kind in (ActionKind.WRITE, ActionKind.METHOD) or req.is_alarm
        fresh = await _fresh_values(d, [req.target] if req.kind is ActionKind.WRITE else []) if is_plant else {}
        dec_now = d.guard.evaluate(req, fresh, d.store.recent_actions()) if is_plant else dec
        if not dec_now.allowed or (dec_now.needs_approval and not dec.needs_approval):
            inner = _coded(dec_now) or [why("now_needs_approval")]
            changed = why("conditions_changed", reasons=[r.model_dump() for r in inner])
            results.append(_refuse(d, run_id, req, key, changed))
            continue
        alarm_problem = await alarm_precheck(d.connector, req) if req.is_alarm else None
        if alarm_problem is not None:
            results.append(_refuse(d, run_id, req, key, alarm_problem))
            continue
        if d.config.policy.dry_run_on_simulator and req.kind is ActionKind.WRITE:
            rehearsal_problem = await _rehearse(d, req, dec_now)
            if rehearsal_problem is not None:
                results.append(_refuse(d, run_id, req, key, rehearsal_problem))
                continue
            d.ledger.append("dry-run", {"target": req.target, "value": req.value, "result": "ok"}, run_id=run_id,
                            key=f"{key}:dry-run")
        d.store.plan_action(key, run_id, req.target, req.kind.value, req.model_dump(mode="json"))
        d.ledger.append("intent", {"target": req.target, "kind": req.kind.value, "value": req.value,
                                   "status": "planned", "idempotency_key": key}, run_id=run_id, key=f"{key}:planned")
        _hook(crash_hook, "act:after_plan", req)
        note = (run_id, req.target, str(req.value)) if req.kind is ActionKind.NOTE else None
        d.store.issue_action(key, note)
        d.ledger.append("intent", _issued_payload(req, key, approval, fresh.get(req.target)), run_id=run_id,
                        key=f"{key}:issued")
        _hook(crash_hook, "act:after_issue", req)
        seen = None  # an acknowledge's evidence: the server's state event right after the call
        try:
            if is_plant:
                permit = d.guard.permit(req, dec_now, approved=True)
                if req.kind is ActionKind.WRITE:
                    await d.connector.write(req, permit)
                elif req.is_alarm:
                    seen = await d.connector.acknowledge(req, permit)
                else:
                    await d.connector.call(req, permit)
        except ConnectionError_:
            raise  # outcome unknown: stays 'issued'; the run waits for the plant and then reads back
        except FactoryPilotError as exc:  # the plant (or the guard) refused it: nothing was changed
            d.store.mark_action(key, "failed", str(exc))
            d.ledger.append("action", {"target": req.target, "value": req.value, "status": "failed",
                                       "error": str(exc)}, run_id=run_id, key=f"{key}:failed")
            results.append(_result(req, ActionStatus.FAILED, key, str(exc)) | {"settled": True})
            continue
        _hook(crash_hook, "act:after_write", req)
        d.store.mark_action(key, "issued", _ACCEPTED)
        d.ledger.append("action", {"target": req.target, "kind": req.kind.value, "value": req.value,
                                   "status": "executed", "from": fresh.get(req.target), "idempotency_key": key,
                                   "approved_by": approval.get("by"), "requested_by": req.requested_by},
                        run_id=run_id, key=f"{key}:executed")
        results.append(_result(req, ActionStatus.UNCONFIRMED, key, "awaiting read-back",
                               executed_value=req.value) | {"executed": True, "from": fresh.get(req.target)}
                       | ({"ack_event": seen.model_dump(mode="json")} if seen is not None else {}))
    return {"results": results}


def _hook(crash_hook: Callable[[str], None], point: str, req: ActionRequest) -> None:
    """Fault-injection points for the crash tests: ``act:after_issue`` (first action) or ``act:after_issue:method``."""
    crash_hook(point)
    crash_hook(f"{point}:{req.kind.value}")


def _issued_payload(req: ActionRequest, key: str, approval: dict[str, Any], before: Scalar = None) -> dict[str, Any]:
    return {"target": req.target, "kind": req.kind.value, "value": req.value, "status": "issued", "from": before,
            "idempotency_key": key, "approved_by": approval.get("by")}


def _refuse(d: RuntimeDeps, run_id: str, req: ActionRequest, key: str, reason: Reason) -> dict[str, Any]:
    """Record a refusal found at act time (action table + ledger, with its code) so a replay does not try again."""
    text = reason.text()
    d.store.plan_action(key, run_id, req.target, req.kind.value, req.model_dump(mode="json"))
    d.store.mark_action(key, "refused", text)
    d.ledger.append("refusal", {"target": req.target, "value": req.value, "reasons": [text],
                                "codes": [reason.model_dump(mode="json")]}, run_id=run_id, key=f"{key}:refused")
    return _refused(req, key, [reason])


def _stored_codes(d: RuntimeDeps, run_id: str, key: str) -> list[Reason]:
    """The codes of a refusal recorded at act time (a replayed node); none for one recorded before codes."""
    rec = next((r for r in d.ledger.records(run_id=run_id, kind="refusal") if r.key == f"{key}:refused"), None)
    codes = rec.payload.get("codes") if rec is not None else None
    return [Reason.model_validate(c) for c in codes] if isinstance(codes, list) else []


async def _rehearse(d: RuntimeDeps, req: ActionRequest, decision: Decision) -> Reason | None:
    """Write to the simulator first and read it back; return why it failed (None when it passed)."""
    if d.rehearsal is None:
        return why("dry_run_no_simulator")
    sim_tag = d.rehearsal_roles.get(d.role_of(req.target))
    if sim_tag is None:
        return why("dry_run_no_role", target=req.target)
    rehearsal = req.model_copy(update={"target": sim_tag})
    try:
        await d.rehearsal.write(rehearsal, d.guard.permit(rehearsal, decision, approved=True))
        status, reason, _ = await _read_back(d.rehearsal, {sim_tag: req.value}, d.config.verify)
    except FactoryPilotError as exc:
        return why("dry_run_failed", error=str(exc))
    return None if status is ActionStatus.DONE else why("dry_run_failed", error=reason)


async def verify(d: RuntimeDeps, state: AgentState) -> dict[str, Any]:
    """Read every issued action back. Only a matching read-back confirms it; an action issued before a
    restart that is not at its target is ``unconfirmed`` (a person decides), never written again."""
    run_id = state["run_id"]
    cfg = d.config.verify
    out: list[dict[str, Any]] = []
    for r in state.get("results", []):
        if not r.get("executed") or r.get("settled"):
            out.append(r)
            continue
        req = ActionRequest.model_validate(r["request"])
        key = r["idempotency_key"]
        restart = bool(r.get("after_restart"))
        row = d.store.action(key)
        if row is not None and row.state in _FINAL:  # read back before a crash: that verdict stands, no new read
            status = {"confirmed": ActionStatus.DONE, "failed": ActionStatus.FAILED}.get(row.state,
                                                                                       ActionStatus.UNCONFIRMED)
            out.append(ActionResult(request=req, status=status, executed_value=r.get("executed_value"),
                                    reason=row.detail, idempotency_key=key).model_dump(mode="json")
                       | {"executed": True, "from": r.get("from")})
            continue
        expect = dict(req.expect) or ({req.target: req.value} if req.kind is ActionKind.WRITE else {})
        if req.is_alarm:
            expect = {f"{req.target}/{'Confirmed' if req.kind is ActionKind.CONFIRM else 'Acked'}State/Id": True}
        read_back: Sample | None = None
        if req.kind is ActionKind.NOTE:
            note = d.store.note(key)
            ok = note is not None and note[1] == str(req.value)
            status, why = (ActionStatus.DONE, "note stored and read back") if ok else (
                ActionStatus.FAILED, "note not found on read-back")
        elif req.is_alarm:
            seen_ev = AlarmEvent.model_validate(r["ack_event"]) if r.get("ack_event") else None
            status, why, read_back = await read_back_alarm(d.connector, req, 1 if restart else cfg.attempts,
                                                           cfg.interval_s, seen_ev)
        elif not expect:
            status, why = ActionStatus.UNCONFIRMED, "method result cannot be read back (no expectation declared)"
        else:
            status, why, read_back = await _read_back(d.connector, expect, cfg, once=restart)
        if restart:
            if status is ActionStatus.DONE:
                why = "confirmed after restart: " + why
            else:
                status = ActionStatus.UNCONFIRMED
                why = ("issued before a restart and not confirmed (" + why + "); not issued again — a person "
                       "decides, and a re-issue needs a new approval")
        d.store.mark_action(key, {"done": "confirmed"}.get(status.value, status.value), why)
        d.ledger.append("read-back", {"target": req.target, "expected": expect, "read": read_back.value
                                      if read_back else None, "status": status.value, "reason": why,
                                      "after_restart": restart}, run_id=run_id, key=f"{key}:verify")
        out.append(ActionResult(request=req, status=status, executed_value=r.get("executed_value"),
                                read_back=read_back, reason=why, idempotency_key=key).model_dump(mode="json")
                   | {"executed": True, "from": r.get("from")})
    return {"results": out}


async def _read_back(connector: BaseConnector[Any], expect: dict[str, Scalar], cfg: VerifyConfig, *,
                     once: bool = False) -> tuple[ActionStatus, str, Sample | None]:
    """Read ``expect``'s tags until they match. Gives up only when *both* ``cfg.attempts`` reads were made and
    ``cfg.timeout_s`` passed on the monotonic clock (``once``: a single read, for actions issued before a
    restart). A machine too busy to read often still gets the full window; a fast one still reads twice."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (0.0 if once else cfg.timeout_s)
    min_reads = 1 if once else cfg.attempts
    tol = cfg.tolerance
    last: list[Sample] = []
    error = ""
    lost: ConnectionError_ | None = None
    reads = 0
    while True:
        try:
            last = await connector.read(list(expect))
            error, lost = "", None
        except ConnectionError_ as exc:
            error, lost = str(exc), exc
        except FactoryPilotError as exc:
            error = str(exc)
        if last and all(same_value(s.value, expect[s.tag_id], tol) for s in last):
            return ActionStatus.DONE, "read back " + ", ".join(f"{s.value}" for s in last), last[0]
        reads += 1
        if reads >= min_reads and loop.time() >= deadline:
            break
        await asyncio.sleep(cfg.interval_s or 0.01)
    if lost is not None:
        raise lost  # the plant is unreachable: the run waits for it and reads back later
    if error:
        return ActionStatus.UNCONFIRMED, f"read-back failed: {error}", None
    got = ", ".join(f"{s.tag_id}={s.value}" for s in last)
    return ActionStatus.FAILED, f"read-back does not match: expected {expect}, read {got}", last[0] if last else None
