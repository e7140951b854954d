"""The safety envelope: a declarative policy, enforced outside any model.

A request is allowed only if every rule passes: the target is allow-listed, writes are enabled, the value is
within range, the step from the current value is small enough, the rate limit has room, and no interlock
holds. The policy also says which actions need a person's approval. Only :class:`Guard` mints the
:class:`~factorypilot.permits.WritePermit` a connector demands, and only for an allowed (and, where required,
approved) request — so no planner, prompt or document can widen what the agent may do.

Rule targets may be tag ids or pilot *roles* (``feed_override``); the guard is given the role map.
"""

from __future__ import annotations

import fnmatch
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from factorypilot._mint import mint
from factorypilot.errors import SafetyViolation
from factorypilot.permits import WritePermit
from factorypilot.vocabulary import ActionKind, ActionRequest, Scalar, utcnow

__all__ = ["AlarmRule", "Condition", "Decision", "Guard", "Interlock", "MethodRule", "SafetyPolicy", "TagRule"]

Approval = Literal["never", "always", "increase", "decrease"]


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TagRule(_Rule):
    """What the agent may write to one tag."""

    target: str = Field(description="tag id or role")
    min: float | None = None
    max: float | None = None
    max_step: float | None = Field(default=None, description="largest change from the current value per action")
    max_changes: int | None = Field(default=None, description="rate limit: changes allowed per window")
    window_s: float = Field(default=3600.0, description="rate-limit window in seconds")
    approval: Approval = "never"
    approval_above_step: float | None = Field(default=None, description="changes larger than this need approval")


class MethodRule(_Rule):
    target: str = Field(description="method node id or role")
    max_calls: int | None = None
    window_s: float = 3600.0
    approval: Literal["never", "always"] = "always"


class AlarmRule(_Rule):
    """Which plant alarms the agent may acknowledge (and confirm), and whether a person must approve first.

    No rule, no acknowledgement: an alarm the policy does not list is never acknowledged by the agent.
    """

    source: str = Field(default="*", description="alarm source: node id, role, or a glob such as 'ns=2;s=Press*'")
    min_severity: int = Field(default=1, ge=1, le=1000)
    max_severity: int = Field(default=1000, ge=1, le=1000, description="alarms above this are never acknowledged")
    confirm: bool = Field(default=False, description="the agent may also Confirm (not only Acknowledge)")
    approval: Literal["never", "always"] = Field(default="always",
                                                 description="never = the agent may acknowledge by itself")
    max_acks: int | None = Field(default=None, description="rate limit: acknowledgements per window")
    window_s: float = 3600.0


_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "!=": operator.ne, ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
}


class Condition(_Rule):
    tag: str = Field(description="tag id or role whose current value is tested")
    op: Literal["==", "!=", ">", ">=", "<", "<="] = "=="
    value: Scalar


class Interlock(_Rule):
    """While *all* conditions hold, no action at all is allowed (e.g. machine running and door open)."""

    name: str
    when: list[Condition]
    message: str = ""


class SafetyPolicy(_Rule):
    name: str = "policy"
    writes_enabled: bool = Field(default=True, description="false = read-only pilot: every write is refused")
    tags: list[TagRule] = Field(default_factory=list)
    methods: list[MethodRule] = Field(default_factory=list)
    interlocks: list[Interlock] = Field(default_factory=list)
    alarms: list[AlarmRule] = Field(default_factory=list, description="alarm acknowledge/confirm rules")
    notes_need_approval: bool = False
    dry_run_on_simulator: bool = Field(default=False, description="rehearse each write on the simulator first")


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True)

    allowed: bool
    needs_approval: bool = False
    reasons: list[str] = Field(default_factory=list)
    rule: str | None = None

    @property
    def summary(self) -> str:
        if not self.allowed:
            return "refused: " + "; ".join(self.reasons)
        return "allowed" + (" (needs approval)" if self.needs_approval else "")


class Guard:
    """Evaluates requests against a policy and mints permits for allowed ones."""

    def __init__(self, policy: SafetyPolicy, roles: Mapping[str, str] | None = None) -> None:
        self.policy = policy
        self.roles = dict(roles or {})

    def _id(self, target: str) -> str:
        return self.roles.get(target, target)

    def _tag_rule(self, tag_id: str) -> TagRule | None:
        return next((r for r in self.policy.tags if self._id(r.target) == tag_id), None)

    def _method_rule(self, method_id: str) -> MethodRule | None:
        return next((r for r in self.policy.methods if self._id(r.target) == method_id), None)

    def interlocks_active(self, current: Mapping[str, Scalar]) -> list[str]:
        active = []
        for lock in self.policy.interlocks:
            if lock.when and all(_holds(c, current.get(self._id(c.tag))) for c in lock.when):
                active.append(f"interlock {lock.name!r} active" + (f": {lock.message}" if lock.message else ""))
        return active

    def evaluate(self, request: ActionRequest, current: Mapping[str, Scalar],
                 recent: Sequence[tuple[datetime, str]] = (), now: datetime | None = None) -> Decision:
        """Decide on ``request``. ``current`` maps tag ids to current values (for step and interlocks);
        ``recent`` lists (time, target) of actions already executed (for rate limits)."""
        now = now or utcnow()
        reasons = self.interlocks_active(current)
        target = self._id(request.target)
        if request.kind is ActionKind.NOTE:
            return Decision(allowed=not reasons, reasons=reasons, needs_approval=self.policy.notes_need_approval,
                            rule="notes")
        if not self.policy.writes_enabled:
            reasons.append("writes are disabled for this pilot (read-only mode)")
        if request.is_alarm:
            return self._alarm_decision(request, reasons, now, recent)
        if request.kind is ActionKind.METHOD:
            mrule = self._method_rule(target)
            if mrule is None:
                return Decision(allowed=False, reasons=[*reasons, f"method {target!r} is not allow-listed"])
            reasons += _rate(mrule.max_calls, mrule.window_s, target, recent, now)
            return Decision(allowed=not reasons, reasons=reasons, rule=mrule.target,
                            needs_approval=mrule.approval == "always")
        rule = self._tag_rule(target)
        if rule is None:
            return Decision(allowed=False, reasons=[*reasons, f"tag {target!r} is not allow-listed for writes"])
        value = request.value
        needs_approval = rule.approval == "always"
        if isinstance(value, bool) or not isinstance(value, int | float):
            if rule.min is not None or rule.max is not None or rule.max_step is not None:
                reasons.append(f"value {value!r} is not numeric but the rule sets a numeric range")
        elif not math.isfinite(value):
            reasons.append(f"value {value!r} is not a finite number")
        else:
            if rule.min is not None and value < rule.min:
                reasons.append(f"value {value} below allowed minimum {rule.min}")
            if rule.max is not None and value > rule.max:
                reasons.append(f"value {value} above allowed maximum {rule.max}")
            cur = current.get(target)
            if isinstance(cur, int | float) and not isinstance(cur, bool):
                step = value - cur
                if rule.max_step is not None and abs(step) > rule.max_step + 1e-9:
                    reasons.append(f"change {step:+g} from {cur:g} exceeds max step {rule.max_step:g}")
                if (rule.approval == "increase" and step > 0) or (rule.approval == "decrease" and step < 0):
                    needs_approval = True
                if rule.approval_above_step is not None and abs(step) > rule.approval_above_step:
                    needs_approval = True
            elif rule.max_step is not None or rule.approval in ("increase", "decrease"):
                reasons.append(f"current value of {target!r} unknown, cannot check the step")
        reasons += _rate(rule.max_changes, rule.window_s, target, recent, now)
        return Decision(allowed=not reasons, reasons=reasons, rule=rule.target, needs_approval=needs_approval)

    def _alarm_rule(self, request: ActionRequest) -> AlarmRule | None:
        source = request.object_id or ""
        for rule in self.policy.alarms:
            if not (rule.min_severity <= (request.severity or 0) <= rule.max_severity):
                continue
            if request.kind is ActionKind.CONFIRM and not rule.confirm:
                continue
            if self._id(rule.source) == source or fnmatch.fnmatchcase(source, rule.source):
                return rule
        return None

    def _alarm_decision(self, request: ActionRequest, reasons: list[str], now: datetime,
                        recent: Sequence[tuple[datetime, str]]) -> Decision:
        verb = request.kind.value
        if request.severity is None:
            return Decision(allowed=False, reasons=[*reasons, f"cannot {verb} alarm {request.target!r}: its "
                                                                "severity is unknown"])
        rule = self._alarm_rule(request)
        if rule is None:
            return Decision(allowed=False, reasons=[*reasons, (
                f"{verb} of alarm {request.target!r} (source {request.object_id or '?'}, severity "
                f"{request.severity}) is not allow-listed by the policy's alarm rules")])
        reasons += _rate(rule.max_acks, rule.window_s, request.target, recent, now)
        return Decision(allowed=not reasons, reasons=reasons, rule=f"alarms:{rule.source}",
                        needs_approval=rule.approval == "always")

    def permit(self, request: ActionRequest, decision: Decision, *, approved: bool = False) -> WritePermit:
        """Mint the permit for an allowed request (approved, if the decision requires it)."""
        if not decision.allowed:
            raise SafetyViolation("action refused by the safety policy", reasons=decision.reasons,
                                  where=request.target, hint="see the reasons; the policy is in the pilot spec")
        if decision.needs_approval and not approved:
            raise SafetyViolation("action needs a person's approval first", where=request.target,
                                  hint="approve it with: factorypilot runs approve RUN_ID")
        return mint(request, policy=self.policy.name)


def _holds(cond: Condition, current: Scalar) -> bool:
    if current is None:  # an interlock whose signal cannot be read is treated as active: fail safe
        return True
    try:
        return bool(_OPS[cond.op](current, cond.value))
    except TypeError:
        return False


def _rate(limit: int | None, window_s: float, target: str, recent: Sequence[tuple[datetime, str]],
          now: datetime) -> list[str]:
    if limit is None:
        return []
    since = now - timedelta(seconds=window_s)
    used = sum(1 for t, tgt in recent if tgt == target and t >= since)
    if used >= limit:
        return [f"rate limit: {used} change(s) to {target!r} in the last {window_s:g}s (max {limit})"]
    return []
