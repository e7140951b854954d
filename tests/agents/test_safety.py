from __future__ import annotations

from datetime import timedelta

import pytest

from factorypilot.agents import Guard, SafetyPolicy, TagRule
from factorypilot.agents.safety import Condition, Decision, Interlock, MethodRule
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


def _every_refusal() -> list[Decision]:
    """One refused decision for each reason the guard can give."""
    from factorypilot.agents.safety import AlarmRule

    lock = Interlock(name="문-열림", when=[Condition(tag="door_open", value=True)], message="도어를 닫으세요")
    policy = SafetyPolicy(name="p", tags=[TagRule(target="feed_override", min=50, max=110, max_step=20,
                                                  max_changes=1, window_s=60),
                                          TagRule(target="ns=2;s=mode", approval="increase")],
                          interlocks=[lock, Interlock(name="bare", when=[Condition(tag="state", value="STOP")])],
                          alarms=[AlarmRule(source="ns=2;s=press", max_severity=500)])
    g = Guard(policy, ROLES)
    stopped = CUR | {"ns=2;s=state": "STOP", "ns=2;s=door": True}
    alarm = ActionRequest(kind=ActionKind.ACKNOWLEDGE, target="ns=2;s=press.Alarm", value="", object_id="ns=2;s=press")
    return [
        g.evaluate(req(45.0), CUR), g.evaluate(req(111.0), CUR), g.evaluate(req(75.0), CUR),
        g.evaluate(req(float("inf")), CUR), g.evaluate(req("fast"), CUR),
        g.evaluate(req(1.0, "ns=2;s=mode"), {}), g.evaluate(req(1.0, "ns=2;s=other"), CUR),
        g.evaluate(ActionRequest(kind=ActionKind.METHOD, target="ns=2;s=reboot"), CUR),
        g.evaluate(req(95.0), stopped),
        g.evaluate(req(95.0), CUR, [(utcnow(), "ns=2;s=feed")]),
        Guard(policy.model_copy(update={"writes_enabled": False}), ROLES).evaluate(req(95.0), CUR),
        g.evaluate(alarm, CUR), g.evaluate(alarm.model_copy(update={"severity": 900}), CUR),
        *_argument_refusals(),
    ]


def _argument_refusals() -> list[Decision]:
    from factorypilot.agents.safety import ArgLimit

    g = Guard(SafetyPolicy(methods=[MethodRule(target="ns=2;s=ovr", args=[ArgLimit(name="percent", min=50,
                                                                                      max=100)])]))
    call = ActionRequest(kind=ActionKind.METHOD, target="ns=2;s=ovr")
    return [g.evaluate(call.model_copy(update={"args": args}), {})
            for args in [(), ("x",), (float("nan"),), (30.0,), (120.0,)]]


def test_every_refusal_reason_has_a_stable_code_and_korean_text() -> None:
    """Each reason: a code of the catalogue, the English text as before (what tests and clients match on), a
    Korean text with the same values; the codes survive the JSON round trip through the graph's state."""
    from factorypilot.agents._reasons import ACT_STEP_CODES, REASONS

    decisions = _every_refusal()
    codes = [c.code for d in decisions for c in d.codes]
    # every guard code is reachable, and tested here (the act step's: tests/agents/test_result_reasons.py)
    assert set(codes) == set(REASONS) - {"text"} - ACT_STEP_CODES
    texts = {c.code: (c.text("en"), c.text("ko")) for d in decisions for c in d.codes}
    assert texts["below_min"] == ("value 45.0 below allowed minimum 50.0",
                                  "값 45.0 이(가) 허용 최솟값 50.0 보다 작습니다")
    assert texts["above_max"] == ("value 111.0 above allowed maximum 110.0",
                                  "값 111.0 이(가) 허용 최댓값 110.0 보다 큽니다")
    assert texts["step_too_large"] == ("change -25 from 100 exceeds max step 20",
                                       "100 에서 -25 변경은 최대 변경 폭 20 을(를) 넘습니다")
    assert texts["not_finite"] == ("value inf is not a finite number", "값 inf 은(는) 유한한 숫자가 아닙니다")
    assert texts["not_numeric"][0] == "value 'fast' is not numeric but the rule sets a numeric range"
    assert texts["current_unknown"] == ("current value of 'ns=2;s=mode' unknown, cannot check the step",
                                        "'ns=2;s=mode' 의 현재 값을 알 수 없어 변경 폭을 확인할 수 없습니다")
    assert texts["tag_not_listed"][0] == "tag 'ns=2;s=other' is not allow-listed for writes"
    assert texts["method_not_listed"][0] == "method 'ns=2;s=reboot' is not allow-listed"
    assert texts["interlock_message"] == ("interlock '문-열림' active: 도어를 닫으세요",
                                          "인터록 '문-열림' 작동 중: 도어를 닫으세요")
    assert texts["interlock"] == ("interlock 'bare' active", "인터록 'bare' 작동 중")
    assert texts["rate_limit"] == ("rate limit: 1 change(s) to 'ns=2;s=feed' in the last 60s (max 1)",
                                   "횟수 제한: 최근 60초 동안 'ns=2;s=feed' 변경 1회 (최대 1회)")
    assert texts["writes_disabled"][1] == "이 파일럿은 쓰기가 꺼져 있습니다 (읽기 전용 모드)"
    assert texts["alarm_severity_unknown"] == (
        "cannot acknowledge alarm 'ns=2;s=press.Alarm': its severity is unknown",
        "알람 'ns=2;s=press.Alarm' 을(를) 확인(acknowledge)할 수 없습니다: 심각도를 알 수 없음")
    assert texts["alarm_not_listed"][1] == ("알람 'ns=2;s=press.Alarm' (출처 ns=2;s=press, 심각도 900) 의 "
                                            "확인(acknowledge)은(는) 정책의 알람 규칙에 없습니다")
    assert texts["arg_below_min"] == ("argument percent = 30 below allowed minimum 50",
                                      "인수 percent = 30 이(가) 허용 최솟값 50 보다 작습니다")
    assert texts["arg_count"][0] == "method 'ns=2;s=ovr' takes 1 argument(s) (percent); the call passes 0"
    for d in decisions:
        assert not d.allowed
        assert d.reasons == [c.text("en") for c in d.codes]  # the English list is the codes' English text
        again = Decision.model_validate_json(d.model_dump_json())  # as stored in the graph's state
        assert again.reasons_in("ko") == d.reasons_in("ko")
        assert again.reasons_in("en") == d.reasons
        assert all(any("\uac00" <= ch <= "\ud7a3" for ch in ko) for ko in d.reasons_in("ko"))


def test_a_reason_given_as_text_stays_as_given() -> None:
    from factorypilot.agents._reasons import why

    d = Decision(allowed=False, reasons=["edited value refused: value 200 above allowed maximum 110"])
    assert d.reasons_in("ko") == d.reasons
    with pytest.raises(KeyError, match="unknown refusal reason code"):
        why("no-such-code")


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


def test_a_decision_summary_in_both_languages() -> None:
    refused = Guard(POLICY, ROLES).evaluate(req(500.0), CUR)
    assert refused.summary == refused.summary_in("en")
    assert refused.summary_in("en").startswith("refused: ")
    assert refused.summary_in("ko") == "거부: " + "; ".join(refused.reasons_in("ko"))
    assert any("\uac00" <= ch <= "\ud7a3" for ch in refused.summary_in("ko").removeprefix("거부: "))
    assert Decision(allowed=True, needs_approval=True).summary_in("ko") == "허용 (승인 필요)"
    assert Decision(allowed=True).summary_in("en") == "allowed"
