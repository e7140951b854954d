"""``propose_action`` and ``get_action_status``. There is no approve tool: a named person approves with
``factorypilot runs approve REQUEST_ID --by NAME`` (or the console); the client can only poll."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from factorypilot.agents._external import alarm_request, apply_decided, propose
from factorypilot.errors import ConfigError, FactoryPilotError
from factorypilot.mcp._deployment import Deployment, ServedPilot
from factorypilot.mcp._identity import Caller
from factorypilot.mcp._models import ActionStatusResult, ProposalResult
from factorypilot.mcp._read import run_actions
from factorypilot.vocabulary import ActionKind, ActionRequest, Scalar

__all__ = ["action_status", "apply_loop", "propose_action"]

log = logging.getLogger("factorypilot.mcp")

_ACTION_STATUS = {"confirmed": "done", "done": "done", "failed": "failed", "unconfirmed": "unconfirmed",
                  "refused": "refused", "rejected": "rejected"}


async def propose_action(dep: Deployment, caller: Caller, *, kind: str, target: str, value: Scalar,
                         args: list[Scalar], reason: str, pilot: str | None,
                         branch_id: str | None = None) -> ProposalResult:
    p = dep.pilot_for(caller, pilot)
    dep.require_propose(caller, p)
    if not reason.strip():
        raise ConfigError("a proposal needs a reason (it is shown to the person who approves) "
                          "/ 제안에는 사유가 필요합니다 (승인자에게 표시됩니다)",
                          hint="say why, e.g. 'spindle vibration 4.1 mm/s, reduce cutting load' "
                               "/ 예: '주축 진동 4.1 mm/s, 절삭 부하 감소'")
    requested_by = f"mcp:{caller.client}" + (f" (token {caller.token_id})" if caller.token_id else "")
    if kind in ("acknowledge", "confirm"):
        # the alarm as the plant holds it now (EventId, severity, source): never what the client says
        if args:
            raise ConfigError("acknowledge/confirm take no args: the EventId is read from the plant "
                              "/ 알람 확인에는 args 가 없습니다 (EventId 는 설비에서 읽습니다)",
                              hint="give target = ConditionId, value = comment, branch_id for a branch")
        _, request = await alarm_request(p.runtime, target, confirm=kind == "confirm", comment=str(value or ""),
                                         requested_by=requested_by, branch_id=branch_id, reason=reason)
    else:
        if branch_id is not None:
            raise ConfigError("branch_id is only for acknowledge/confirm / branch_id 는 알람 확인에만 쓰입니다")
        request = ActionRequest(kind=ActionKind(kind), target=target, value=value, args=tuple(args),
                                expect=_confirm(p, target, args) if kind == "method" else {}, reason=reason[:500],
                                requested_by=requested_by)
    proposer = {"client": caller.client, "token_id": caller.token_id, "transport": caller.transport,
                "company": p.company}
    outcome = await propose(p.runtime, request, proposer=proposer)
    if outcome.request_id is not None:
        dep.record_proposal(outcome.request_id, p, caller)
    if outcome.status == "pending_approval":
        return ProposalResult(status="pending_approval", request_id=outcome.request_id, pilot=p.id,
                              target=outcome.request.target,
                              approve_with=f"factorypilot runs approve {outcome.request_id} --by NAME")
    return ProposalResult(status="refused", request_id=None, pilot=p.id, target=outcome.request.target,
                          reasons=outcome.reasons, reasons_ko=outcome.reasons_ko, reason_codes=outcome.codes)


def _confirm(p: ServedPilot, target: str, args: list[Scalar]) -> dict[str, Scalar]:
    """The read-back that says a method worked: its role's ``confirm`` and ``confirm_args`` filled with the call's
    arguments (``RoleSpec.read_back``, as the agent's playbooks use it), on the plant's tag ids. The client cannot
    say what "done" means; a method without a read-back, with a read-back role this plant does not have, or with
    fewer arguments than ``confirm_args`` needs ends ``unconfirmed``, never ``done`` on half a check."""
    roles = p.runtime.config.roles
    role = target if target in p.spec.roles else next((r for r, t in roles.items() if t == target), None)
    spec = p.spec.roles.get(role) if role is not None else None
    if spec is None or spec.kind != "method":
        return {}
    expect = spec.read_back(args)
    if set(expect) != set(spec.confirm) | set(spec.confirm_args) or not set(expect) <= set(roles):
        return {}
    return {roles[k]: v for k, v in expect.items()}


def action_status(dep: Deployment, caller: Caller, request_id: str) -> ActionStatusResult:
    found = dep.proposal(request_id)
    p = dep.pilots.get(found[0]) if found else None
    if found is None or p is None or not caller.sees(found[1]):
        raise ConfigError(f"no action request {request_id!r} for this client "
                          f"/ 이 클라이언트에 {request_id!r} 요청이 없습니다",
                          hint="request ids come from propose_action / 요청 ID 는 propose_action 이 돌려줍니다")
    store = p.runtime.store
    run = store.run(request_id)
    approval = store.approval(request_id)
    actions = run_actions(p, request_id)
    status: Any
    if run is None:
        status = "running"
    elif run.status == "waiting_approval" and (approval is None or approval.decision is None):
        status = "pending_approval"
    elif run.status in ("waiting_approval", "running") and approval is not None and approval.decision == "approve":
        status = "approved"
    elif run.status in ("waiting_approval", "running") and approval is not None and approval.decision == "reject":
        status = "rejected"
    elif run.status == "waiting_for_plant":
        status = "waiting_for_plant"
    elif run.status in ("done", "attention", "failed"):
        states = [_ACTION_STATUS.get(a.status, "unconfirmed") for a in actions] or ["refused"]
        status = next((s for s in ("failed", "unconfirmed", "refused", "rejected") if s in states), "done")
    else:
        status = "running"
    return ActionStatusResult(request_id=request_id, status=status,
                              decided_by=approval.decided_by if approval else None,
                              decided_at=approval.decided_at if approval else None, actions=actions)


async def apply_loop(dep: Deployment, period_s: float = 0.5) -> None:
    """Apply decided MCP proposals, and continue those parked while the plant was unreachable, when no pilot
    service owns the pilot (forever; cancel to stop)."""
    parked: dict[str, dict[str, tuple[float, float]]] = {p: {} for p in dep.pilots}
    while True:
        for p in dep.pilots.values():
            try:
                for out in await apply_decided(p.runtime, dep.is_proposal, parked[p.id]):
                    log.info("applied decision on %s: %s", out.run_id, out.status)
            except FactoryPilotError as exc:
                log.warning("could not apply a decision for pilot %s: %s", p.id, exc)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.sleep(period_s)
