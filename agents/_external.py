"""Actions proposed from outside the agent's planner (the MCP server): the same guard, a person, the same act.

An external proposal never gets a path of its own to the plant. ``propose`` checks it with the pilot's own
:class:`~factorypilot.agents.safety.Guard` on fresh plant values and the recent-action history (allow-list,
range, step, rate, interlocks); a refusal is recorded on the ledger and returned with its reasons, and nothing
else happens. An allowed proposal becomes an ordinary run of the agent graph that starts *after* the plan node
(its plan is the proposal), passes the guard node again, and stops at the approve node: ``waiting_approval``.
Every allowed external action needs a person's approval, whatever the policy says for the agent's own actions
(:class:`ProposalGuard`). After ``factorypilot runs approve RUN --by NAME`` the run resumes through the normal
``act`` → ``verify`` path (write-ahead intent, dry run when the policy asks for it, exactly once, read-back),
applied by the pilot service — or, when no service holds the pilot's lease, by ``apply_decided`` under that
lease.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from factorypilot.agents._lease import PilotLease
from factorypilot.agents._reasons import Reason, plain
from factorypilot.agents.planners.base import Plan
from factorypilot.agents.safety import Decision, Guard
from factorypilot.errors import ConfigError, LeaseHeldError
from factorypilot.vocabulary import ActionKind, ActionRequest, AlarmEvent, Event, Scalar, Severity

if TYPE_CHECKING:
    from factorypilot.agents.runtime import AgentRuntime, RunOutcome

__all__ = ["ProposalGuard", "ProposalOutcome", "alarm_request", "apply_decided", "external_runtime", "propose"]

_BACKOFF_MAX_S = 30.0


class ProposalGuard(Guard):
    """The pilot's guard, except that every allowed action waits for a person's approval."""

    def __init__(self, guard: Guard) -> None:
        super().__init__(guard.policy, guard.roles)

    def evaluate(self, request: ActionRequest, current: Mapping[str, Scalar],
                 recent: Sequence[tuple[datetime, str]] = (), now: datetime | None = None) -> Decision:
        decision = super().evaluate(request, current, recent, now)
        return decision.model_copy(update={"needs_approval": True}) if decision.allowed else decision


def external_runtime(rt: AgentRuntime) -> AgentRuntime:
    """Make an entered runtime (opened with ``lease=False``) one that only handles external proposals."""
    if not isinstance(rt.deps.guard, ProposalGuard):
        rt.deps.guard = ProposalGuard(rt.deps.guard)
    return rt


@dataclass
class ProposalOutcome:
    status: str
    """``refused`` or ``pending_approval``"""
    request_id: str | None
    request: ActionRequest
    reasons: list[str] = field(default_factory=list)
    rule: str | None = None
    reasons_ko: list[str] = field(default_factory=list)
    """the same reasons in Korean (a reason known only as text stays as it is)"""
    codes: list[str] = field(default_factory=list)
    """the reasons' stable codes (``factorypilot.agents._reasons.REASONS``; ``text`` for a plain-text one)"""


async def alarm_request(rt: AgentRuntime, condition_id: str, *, confirm: bool, comment: str, requested_by: str,
                        branch_id: str | None = None, reason: str = "") -> tuple[AlarmEvent, ActionRequest]:
    """An acknowledge (confirm) request for an alarm as the plant holds it now: its EventId (of the branch, for a
    branch), severity and source are read from the plant, never taken from the proposer."""
    alarm = await rt.deps.connector.alarm_state(condition_id, branch_id)
    if alarm is None:
        where = condition_id + (f" branch {branch_id}" if branch_id else "")
        raise ConfigError(f"the plant holds no alarm {where!r} (not active, not waiting for acknowledgement) "
                          f"/ 설비에 해당 알람이 없습니다", where=where,
                          hint="list the plant's alarms: factorypilot connect alarms ENDPOINT --refresh")
    request = ActionRequest(
        kind=ActionKind.CONFIRM if confirm else ActionKind.ACKNOWLEDGE, target=alarm.condition_id,
        args=(alarm.event_id, alarm.branch_id) if alarm.branch_id else (alarm.event_id,), value=comment,
        object_id=alarm.source_node or None, severity=alarm.severity,
        reason=((f"{reason} — " if reason else "") + f"{comment} — {alarm.message}")[:500], requested_by=requested_by)
    return alarm, request


async def propose(rt: AgentRuntime, request: ActionRequest, *, proposer: dict[str, Any]) -> ProposalOutcome:
    """Check ``request`` with the pilot's guard; refused → ledger + reasons; allowed → a run waiting for approval.

    ``proposer`` (client, token id, transport ...) is recorded on the ledger with the proposal."""
    external_runtime(rt)
    d = rt.deps
    target = d.config.roles.get(request.target, request.target) if request.kind is not ActionKind.NOTE \
        else request.target
    request = request.model_copy(update={"target": target})
    ids = list(dict.fromkeys(d.observed_tag_ids() + ([target] if request.kind is ActionKind.WRITE else [])))
    samples = await d.connector.read(ids)
    current = {s.tag_id: s.value for s in samples}
    decision = d.guard.evaluate(request, current, d.store.recent_actions())
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    if not decision.allowed:
        rt.ledger.append("refusal", {"target": target, "value": request.value, "kind": request.kind.value,
                                     "reasons": decision.reasons, "codes": [c.code for c in decision.codes],
                                     "policy": d.guard.policy.name,
                                     "proposed_by": proposer}, key=f"proposal:{stamp}:refused")
        return ProposalOutcome("refused", None, request, decision.reasons, decision.rule,
                               reasons_ko=decision.reasons_in("ko"), codes=[c.code for c in decision.codes])
    run_id = f"{d.config.name}-ext-{stamp}"
    event = Event(kind="proposal", tag_id=target, role=d.role_of(target), severity=Severity.INFO,
                  detector="external", message=f"proposed by {proposer.get('client', '?')}", value=request.value)
    plan = Plan(diagnosis=request.reason or f"proposed by {proposer.get('client', '?')}", actions=[request],
                planner=f"external:{proposer.get('client', '?')}")
    rt.store.upsert_run(run_id, d.config.name, "running", data={"event": f"external:{run_id}",
                                                                  "proposed_by": proposer})
    rt.ledger.append("proposal", {"pilot": d.config.name, "request": request.model_dump(mode="json"),
                                  "proposed_by": proposer}, run_id=run_id, key=f"{run_id}:proposal")
    state = {"run_id": run_id, "window": {}, "current": {s.tag_id: s.model_dump(mode="json") for s in samples},
             "events": [event.model_dump(mode="json")], "knowledge": [], "plan": plan.model_dump(mode="json"),
             "attempts": 1, "trigger": {"key": f"external:{run_id}"}, "status": "running"}
    cfg = rt._cfg(run_id)
    await rt.graph.aupdate_state(cfg, state, as_node="plan")
    outcome = await rt._invoke(run_id, None)
    if outcome.status == "waiting_approval":
        return ProposalOutcome("pending_approval", run_id, request, [], decision.rule)
    # conditions changed between the check above and the guard node: the run ended with the refusal, whose
    # reasons the run's report keeps with their codes
    coded = report_refusals(outcome.report or {}) or [plain(f"run ended as {outcome.status}")]
    return ProposalOutcome("refused", run_id, request, [c.text() for c in coded], decision.rule,
                           reasons_ko=[c.text("ko") for c in coded], codes=[c.code for c in coded])


def report_refusals(report: Mapping[str, Any]) -> list[Reason]:
    """The reasons of a run report's refused results, coded (a result without codes: its text)."""
    refused = [r for r in report.get("results", []) if r["status"] == "refused"]
    return [c for r in refused for c in [Reason.model_validate(x) for x in r.get("reason_codes") or []]
            or [plain(str(r.get("reason", "")))]]


async def apply_decided(rt: AgentRuntime, only: Callable[[str], bool],
                        parked: dict[str, tuple[float, float]] | None = None) -> list[RunOutcome]:
    """Apply decided approvals of this pilot's runs selected by ``only``, and continue those of them parked as
    ``waiting_for_plant`` (the plant was unreachable at act or verify time) — if no other process owns the pilot.

    The pilot service holds the pilot's lease while it runs and does both itself; then this does nothing.
    Otherwise the lease is taken for the duration, so two processes never execute the same decision (and the
    action table keeps each action exactly once even after a crash: an issued action is read back, never
    issued again). ``parked`` (run id → (next attempt, back-off), kept by the caller between calls) spaces
    the retries of an unreachable plant: 1 s doubling to 30 s; None retries every parked run now."""
    def due() -> list[str]:
        out = []
        for row in rt.store.undecided_applied():
            run = rt.store.run(row.run_id)
            if run is not None and run.pilot == rt.config.name and only(row.run_id):
                out.append(row.run_id)
        return out

    def waiting() -> list[str]:
        now = time.monotonic()
        return [r.run_id for r in rt.store.runs(status="waiting_for_plant", limit=1000)
                if r.pilot == rt.config.name and only(r.run_id)
                and (parked is None or parked.get(r.run_id, (0.0, 0.0))[0] <= now)]

    if not due() and not waiting():
        return []
    lease = PilotLease(rt.home / "agent.sqlite", rt.config.name)
    try:
        lease.acquire()
    except LeaseHeldError:
        lease.release()
        return []  # the pilot service owns the pilot and applies the decision
    try:
        decided = due()
        outcomes = [await rt._apply(run_id) for run_id in decided]
        outcomes += [await rt.continue_run(run_id) for run_id in waiting() if run_id not in decided]
    finally:
        lease.release()
    if parked is not None:
        for out in outcomes:
            if out.status == "waiting_for_plant":
                backoff = min(parked.get(out.run_id, (0.0, 0.5))[1] * 2, _BACKOFF_MAX_S)
                parked[out.run_id] = (time.monotonic() + backoff, backoff)
            else:
                parked.pop(out.run_id, None)
    return outcomes
