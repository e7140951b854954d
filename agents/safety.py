"""The safety envelope: a declarative policy, enforced outside any model.

A request is allowed only if every rule passes: the target is allow-listed, writes are enabled, the value is
within range, the step from the current value is small enough, the rate limit has room, and no interlock
holds. The policy also says which actions need a person's approval. Only :class:`Guard` mints the
:class:`~factorypilot.permits.WritePermit` a connector demands, and only for an allowed (and, where required,
approved) request — so no planner, prompt or document can widen what the agent may do.

Rule targets may be tag ids or pilot *roles* (``feed_override``); the guard is given the role map.

Approval is decided **per planner**: a request proposed by a chat model (``requested_by`` ``llm:…``) is judged
by the rule's ``llm`` entry, everything else by its ``playbook`` entry. A rule written as a plain string
(``approval: never``) is the playbook's rule only: an LLM-originated write, method call or note needs a person
(``always``) unless the policy names the ``llm`` entry explicitly, e.g.
``approval: {playbook: never, llm: increase}`` or ``notes_need_approval: {playbook: false, llm: false}``. Every
decision says which entry applied (``Decision.approval_rule``), so an opt-in is visible on the record.
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
from factorypilot.agents._reasons import Reason, why
from factorypilot.errors import SafetyViolation
from factorypilot.permits import WritePermit
from factorypilot.vocabulary import ActionKind, ActionRequest, Scalar, utcnow

__all__ = ["AlarmRule", "ArgLimit", "Condition", "Decision", "Guard", "Interlock", "MethodRule", "Reason",
           "SafetyPolicy",
           "TagRule", "approval_mode", "origin_of"]

Approval = Literal["never", "always", "increase", "decrease"]
Origin = Literal["playbook", "llm"]
PerPlanner = dict[Origin, Approval]


def origin_of(request: ActionRequest) -> Origin:
    """Who proposed ``request``: ``llm`` for a chat model's proposal (``requested_by`` ``llm…``), else ``playbook``."""
    return "llm" if request.requested_by.startswith("llm") else "playbook"


def approval_mode(setting: Approval | PerPlanner, request: ActionRequest) -> Approval:
    """The approval mode a tag rule's ``approval`` setting gives ``request``'s proposer."""
    return _approval_for(setting, origin_of(request))[0]


def _approval_for(setting: Approval | PerPlanner, origin: Origin, strict: Approval = "always") -> tuple[Approval, str]:
    """The approval mode for ``origin`` and a label for the record (``llm: always (default)``)."""
    if isinstance(setting, str):
        if origin == "llm":
            return strict, f"llm: {strict} (default for LLM-proposed actions)"
        return setting, f"playbook: {setting}"
    if origin in setting:
        mode = setting[origin]
        opt = " (explicit opt-in in the policy)" if origin == "llm" and mode != "always" else ""
        return mode, f"{origin}: {mode}{opt}"
    if origin == "llm":
        return strict, f"llm: {strict} (default for LLM-proposed actions)"
    return "never", "playbook: never"


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
    approval: Approval | PerPlanner = Field(default="never", description=(
        "who needs a person: never|always|increase|decrease, or per planner {playbook: ..., llm: ...}; "
        "a plain value is the playbook's: LLM-proposed writes need approval unless 'llm' is named"))
    approval_above_step: float | None = Field(default=None, description="changes larger than this need approval")


class ArgLimit(_Rule):
    """The range of one numeric argument of a method call (rules list them in the call's argument order)."""

    name: str = Field(description="the argument's name (as the method role declares it)")
    min: float | None = None
    max: float | None = None


class MethodRule(_Rule):
    target: str = Field(description="method node id or role")
    args: list[ArgLimit] | None = Field(
        default=None, description="the call's arguments, in order, with their allowed range; a call with another "
        "number of arguments or a value outside a range is refused (not given: arguments are not checked)")
    max_calls: int | None = None
    window_s: float = 3600.0
    approval: Literal["never", "always"] | dict[Origin, Literal["never", "always"]] = Field(
        default="always", description="never|always, or per planner {playbook: ..., llm: ...} (llm default: always)")


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
    notes_need_approval: bool | dict[Origin, bool] = Field(
        default=False, description="a plain value is the playbook's; LLM-proposed notes need approval unless "
                                   "{playbook: ..., llm: false} opts in")
    dry_run_on_simulator: bool = Field(default=False, description="rehearse each write on the simulator first")


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True)

    allowed: bool
    needs_approval: bool = False
    reasons: list[str] = Field(default_factory=list, description="why refused, in English (``codes``: the same "
                                                                  "reasons with a stable code, in ko/en)")
    codes: list[Reason] = Field(default_factory=list, description="the reasons as codes with their values")
    rule: str | None = None
    approval_rule: str | None = Field(default=None, description="which approval entry applied, e.g. 'llm: always "
                                                                 "(default for LLM-proposed actions)'")

    @classmethod
    def of(cls, reasons: Sequence[Reason], **fields: Any) -> Decision:
        """A decision refused exactly when there are ``reasons`` (English text and codes both recorded)."""
        return cls(allowed=not reasons, reasons=[r.text() for r in reasons], codes=list(reasons), **fields)

    def reasons_in(self, lang: str) -> list[str]:
        """The reasons in ``lang`` (``ko`` or ``en``); a reason given only as text stays as it was given."""
        if len(self.codes) != len(self.reasons):
            return list(self.reasons)
        return [c.text(lang) for c in self.codes]

    @property
    def summary(self) -> str:
        return self.summary_in("en")

    def summary_in(self, lang: str) -> str:
        """``refused: <reasons>`` or ``allowed`` (with ``needs approval``), in ``lang`` (``ko`` or ``en``)."""
        ko = lang == "ko"
        if not self.allowed:
            return ("거부: " if ko else "refused: ") + "; ".join(self.reasons_in(lang))
        if ko:
            return "허용" + (" (승인 필요)" if self.needs_approval else "")
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

    def interlocks_active(self, current: Mapping[str, Scalar]) -> list[Reason]:
        active = []
        for lock in self.policy.interlocks:
            if lock.when and all(_holds(c, current.get(self._id(c.tag))) for c in lock.when):
                active.append(why("interlock_message", name=lock.name, message=lock.message) if lock.message
                              else why("interlock", name=lock.name))
        return active

    def evaluate(self, request: ActionRequest, current: Mapping[str, Scalar],
                 recent: Sequence[tuple[datetime, str]] = (), now: datetime | None = None) -> Decision:
        """Decide on ``request``. ``current`` maps tag ids to current values (for step and interlocks);
        ``recent`` lists (time, target) of actions already executed (for rate limits)."""
        now = now or utcnow()
        reasons = self.interlocks_active(current)
        target = self._id(request.target)
        origin = origin_of(request)
        if request.kind is ActionKind.NOTE:
            setting = self.policy.notes_need_approval
            if isinstance(setting, dict):
                need = setting.get(origin, origin == "llm")
                label = f"{origin} notes: {'approval' if need else 'no approval'}" + (
                    " (explicit opt-in in the policy)" if origin == "llm" and not need else "")
            elif origin == "llm":
                need, label = True, "llm notes: approval (default for LLM-proposed actions)"
            else:
                need, label = setting, f"playbook notes: {'approval' if setting else 'no approval'}"
            return Decision.of(reasons, needs_approval=need, rule="notes", approval_rule=label)
        if not self.policy.writes_enabled:
            reasons.append(why("writes_disabled"))
        if request.is_alarm:
            return self._alarm_decision(request, reasons, now, recent)
        if request.kind is ActionKind.METHOD:
            mrule = self._method_rule(target)
            if mrule is None:
                return Decision.of([*reasons, why("method_not_listed", target=target)])
            reasons += _arg_reasons(mrule, request.args)
            reasons += _rate(mrule.max_calls, mrule.window_s, target, recent, now)
            mode, label = _approval_for(mrule.approval, origin)  # type: ignore[arg-type]
            return Decision.of(reasons, rule=mrule.target, needs_approval=mode == "always", approval_rule=label)
        rule = self._tag_rule(target)
        if rule is None:
            return Decision.of([*reasons, why("tag_not_listed", target=target)])
        value = request.value
        mode, label = _approval_for(rule.approval, origin)
        needs_approval = mode == "always"
        if isinstance(value, bool) or not isinstance(value, int | float):
            if rule.min is not None or rule.max is not None or rule.max_step is not None:
                reasons.append(why("not_numeric", value=repr(value)))
        elif not math.isfinite(value):
            reasons.append(why("not_finite", value=repr(value)))
        else:
            if rule.min is not None and value < rule.min:
                reasons.append(why("below_min", value=value, min=rule.min))
            if rule.max is not None and value > rule.max:
                reasons.append(why("above_max", value=value, max=rule.max))
            cur = current.get(target)
            if isinstance(cur, int | float) and not isinstance(cur, bool):
                step = value - cur
                if rule.max_step is not None and abs(step) > rule.max_step + 1e-9:
                    reasons.append(why("step_too_large", step=step, current=cur, max_step=rule.max_step))
                if (mode == "increase" and step > 0) or (mode == "decrease" and step < 0):
                    needs_approval = True
                if rule.approval_above_step is not None and abs(step) > rule.approval_above_step:
                    needs_approval = True
            elif rule.max_step is not None or mode in ("increase", "decrease"):
                reasons.append(why("current_unknown", target=target))
        reasons += _rate(rule.max_changes, rule.window_s, target, recent, now)
        return Decision.of(reasons, rule=rule.target, needs_approval=needs_approval, approval_rule=label)

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

    def _alarm_decision(self, request: ActionRequest, reasons: list[Reason], now: datetime,
                        recent: Sequence[tuple[datetime, str]]) -> Decision:
        verb = request.kind.value
        if request.severity is None:
            return Decision.of([*reasons, why("alarm_severity_unknown", verb=verb, target=request.target)])
        rule = self._alarm_rule(request)
        if rule is None:
            return Decision.of([*reasons, why("alarm_not_listed", verb=verb, target=request.target,
                                              source=request.object_id or "?", severity=request.severity)])
        reasons += _rate(rule.max_acks, rule.window_s, request.target, recent, now)
        # an acknowledgement a chat model proposed always goes to a person (like its writes; issue 22)
        llm = origin_of(request) == "llm"
        return Decision.of(reasons, rule=f"alarms:{rule.source}", needs_approval=rule.approval == "always" or llm,
                           approval_rule="llm: always (default for LLM-proposed actions)" if llm
                           else f"alarms: {rule.approval}")

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


def _arg_reasons(rule: MethodRule, args: Sequence[Scalar]) -> list[Reason]:
    """Why a call's arguments break the rule's ranges (nothing when the rule sets none)."""
    if rule.args is None:
        return []
    if len(args) != len(rule.args):
        names = ", ".join(a.name for a in rule.args) or "none"
        return [why("arg_count", target=rule.target, expected=len(rule.args), names=names, given=len(args))]
    out = []
    for lim, value in zip(rule.args, args, strict=True):
        if lim.min is None and lim.max is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            out.append(why("arg_not_numeric", name=lim.name, value=repr(value)))
        elif not math.isfinite(value):
            out.append(why("arg_not_finite", name=lim.name, value=repr(value)))
        elif lim.min is not None and value < lim.min:
            out.append(why("arg_below_min", name=lim.name, value=value, min=lim.min))
        elif lim.max is not None and value > lim.max:
            out.append(why("arg_above_max", name=lim.name, value=value, max=lim.max))
    return out


def _rate(limit: int | None, window_s: float, target: str, recent: Sequence[tuple[datetime, str]],
          now: datetime) -> list[Reason]:
    if limit is None:
        return []
    since = now - timedelta(seconds=window_s)
    used = sum(1 for t, tgt in recent if tgt == target and t >= since)
    if used >= limit:
        return [why("rate_limit", used=used, target=target, window_s=window_s, limit=limit)]
    return []
