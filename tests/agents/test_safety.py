from __future__ import annotations

from datetime import timedelta

import pytest

from factorypilot.agents import Guard, SafetyPolicy, TagRule
from factorypilot.agents.safety import Condition, Interlock, MethodRule
from factorypilot.errors import SafetyViolation
from factorypilot.vocabulary import ActionKind, ActionRequest, utcnow

ROLES = {"feed_override": "ns=2;s=feed", "door_open": "ns=2;s=door", "state": "ns=2;s=state"}
POLICY = SafetyPolicy(
    name="p", tags=[TagRule(target="feed_override", min=50, max=110, max_step=20, approval="increase",
                            max_changes=2, window_s=60)],
    methods=[MethodRule(target="ns=2;s=reset", approval="always")],
    interlocks=[Interlock(name="running-door-open", when=[Condition(tag="state", value="RUN"),
                                                          Condition(tag="door_open", value=True)])],
)
CUR = {"ns=2;s=feed": 100.0, "ns=2;s=door": False, "ns=2;s=state": "RUN"}


def req(value: object, target: str = "ns=2;s=feed") -> ActionRequest:
    return ActionRequest(target=target, value=value)  # type: ignore[arg-type]


@pytest.mark.parametrize(("value", "reason"), [
    (45.0, "below allowed minimum 50"), (111.0, "above allowed maximum 110"), (75.0, "exceeds max step 20"),
    (float("nan"), "not a finite number"), ("fast", "not numeric"),
])
def test_refusals_say_why(value: object, reason: str) -> None:
    d = Guard(POLICY, ROLES).evaluate(req(value), CUR)
    assert not d.allowed
    assert any(reason in r for r in d.reasons)


def test_allowed_decrease_needs_no_approval_increase_does() -> None:
    g = Guard(POLICY, ROLES)
    down = g.evaluate(req(90.0), CUR)
    up = g.evaluate(req(105.0), CUR)
    assert down.allowed
    assert not down.needs_approval
    assert up.allowed
    assert up.needs_approval


def test_not_allow_listed_tag_and_method() -> None:
    g = Guard(POLICY, ROLES)
    assert "not allow-listed" in g.evaluate(req(1.0, "ns=2;s=spindle_speed"), CUR).reasons[0]
    m = g.evaluate(ActionRequest(kind=ActionKind.METHOD, target="ns=2;s=other"), CUR)
    assert not m.allowed


def test_interlock_blocks_and_unknown_interlock_signal_fails_safe() -> None:
    g = Guard(POLICY, ROLES)
    assert not g.evaluate(req(90.0), {**CUR, "ns=2;s=door": True}).allowed
    unknown = {k: v for k, v in CUR.items() if k != "ns=2;s=door"}
    d = g.evaluate(req(90.0), unknown)
    assert not d.allowed
    assert "running-door-open" in d.reasons[0]


def test_rate_limit_window() -> None:
    g = Guard(POLICY, ROLES)
    now = utcnow()
    recent = [(now - timedelta(seconds=10), "ns=2;s=feed"), (now - timedelta(seconds=20), "ns=2;s=feed")]
    assert "rate limit" in g.evaluate(req(90.0), CUR, recent, now).reasons[0]
    old = [(now - timedelta(seconds=120), "ns=2;s=feed")] * 5
    assert g.evaluate(req(90.0), CUR, old, now).allowed


def test_read_only_mode_refuses_writes() -> None:
    g = Guard(POLICY.model_copy(update={"writes_enabled": False}), ROLES)
    assert "read-only" in g.evaluate(req(90.0), CUR).reasons[0]


def test_permit_only_for_allowed_and_approved() -> None:
    g = Guard(POLICY, ROLES)
    with pytest.raises(SafetyViolation, match="refused"):
        g.permit(req(10.0), g.evaluate(req(10.0), CUR))
    up = g.evaluate(req(105.0), CUR)
    with pytest.raises(SafetyViolation, match="approval"):
        g.permit(req(105.0), up)
    permit = g.permit(req(105.0), up, approved=True)
    permit.check(req(105.0))
    with pytest.raises(SafetyViolation, match="does not match"):
        permit.check(req(110.0))


def test_policy_rejects_unknown_keys() -> None:
    with pytest.raises(ValueError, match="maxx"):
        SafetyPolicy.model_validate({"tags": [{"target": "x", "maxx": 3}]})


@pytest.mark.parametrize(("args", "reason"), [
    ((30.0,), "argument percent = 30 below allowed minimum 50"),
    ((101,), "argument percent = 101 above allowed maximum 100"),
    ((float("inf"),), "argument percent = inf is not a finite number"),
    (("fast",), "argument percent = 'fast' is not a number but the rule sets a range"),
    ((True,), "argument percent = True is not a number but the rule sets a range"),
    ((), "method 'ns=2;s=ovr' takes 1 argument(s) (percent); the call passes 0"),
    ((80.0, 1), "method 'ns=2;s=ovr' takes 1 argument(s) (percent); the call passes 2"),
])
def test_method_arguments_outside_the_rule_are_refused(args: tuple[object, ...], reason: str) -> None:
    from factorypilot.agents.safety import ArgLimit

    policy = SafetyPolicy(methods=[MethodRule(target="ns=2;s=ovr", args=[ArgLimit(name="percent", min=50, max=100)])])
    call = ActionRequest(kind=ActionKind.METHOD, target="ns=2;s=ovr", args=args)  # type: ignore[arg-type]
    d = Guard(policy).evaluate(call, {})
    assert not d.allowed
    assert d.reasons == [reason]
    with pytest.raises(SafetyViolation):
        Guard(policy).permit(call, d, approved=True)
    ok = Guard(policy).evaluate(call.model_copy(update={"args": (80.0,)}), {})
    assert ok.allowed
    assert ok.needs_approval
