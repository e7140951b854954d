"""Why the safety guard refused: a stable code per reason, its values, and its text in English and Korean.

A :class:`Reason` is what :class:`~factorypilot.agents.safety.Guard` records (``Decision.codes``); its English
text is ``Decision.reasons`` as before, and :meth:`Reason.text` gives the Korean one. The texts are
``{"en": ..., "ko": ...}`` mappings picked with :func:`~factorypilot.agents.planners.base.localized`, the same
convention as playbook texts. A code is stable: tools may match on it; the wording may change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from factorypilot.agents.planners.base import LocalizedText, localized
from factorypilot.vocabulary import ReasonCode

__all__ = ["ACT_STEP_CODES", "REASONS", "Reason", "plain", "result_reason", "texts", "why"]

REASONS: dict[str, LocalizedText] = {
    "interlock": {"en": "interlock {name!r} active",
                  "ko": "인터록 {name!r} 작동 중"},
    "interlock_message": {"en": "interlock {name!r} active: {message}",
                          "ko": "인터록 {name!r} 작동 중: {message}"},
    "writes_disabled": {"en": "writes are disabled for this pilot (read-only mode)",
                        "ko": "이 파일럿은 쓰기가 꺼져 있습니다 (읽기 전용 모드)"},
    "method_not_listed": {"en": "method {target!r} is not allow-listed",
                          "ko": "메서드 {target!r} 은(는) 허용 목록에 없습니다"},
    "tag_not_listed": {"en": "tag {target!r} is not allow-listed for writes",
                       "ko": "태그 {target!r} 은(는) 쓰기 허용 목록에 없습니다"},
    # {value} is the value's repr here (a string, so inf and nan survive a JSON round trip)
    "not_numeric": {"en": "value {value} is not numeric but the rule sets a numeric range",
                    "ko": "값 {value} 은(는) 숫자가 아닌데 규칙은 숫자 범위를 정합니다"},
    "not_finite": {"en": "value {value} is not a finite number",
                   "ko": "값 {value} 은(는) 유한한 숫자가 아닙니다"},
    "below_min": {"en": "value {value} below allowed minimum {min}",
                  "ko": "값 {value} 이(가) 허용 최솟값 {min} 보다 작습니다"},
    "above_max": {"en": "value {value} above allowed maximum {max}",
                  "ko": "값 {value} 이(가) 허용 최댓값 {max} 보다 큽니다"},
    "step_too_large": {"en": "change {step:+g} from {current:g} exceeds max step {max_step:g}",
                       "ko": "{current:g} 에서 {step:+g} 변경은 최대 변경 폭 {max_step:g} 을(를) 넘습니다"},
    "current_unknown": {"en": "current value of {target!r} unknown, cannot check the step",
                        "ko": "{target!r} 의 현재 값을 알 수 없어 변경 폭을 확인할 수 없습니다"},
    "rate_limit": {"en": "rate limit: {used} change(s) to {target!r} in the last {window_s:g}s (max {limit})",
                   "ko": "횟수 제한: 최근 {window_s:g}초 동안 {target!r} 변경 {used}회 (최대 {limit}회)"},
    "alarm_severity_unknown": {"en": "cannot {verb} alarm {target!r}: its severity is unknown",
                               "ko": "알람 {target!r} 을(를) {verb_ko}할 수 없습니다: 심각도를 알 수 없음"},
    "alarm_not_listed": {"en": "{verb} of alarm {target!r} (source {source}, severity {severity}) is not "
                               "allow-listed by the policy's alarm rules",
                         "ko": "알람 {target!r} (출처 {source}, 심각도 {severity}) 의 {verb_ko}은(는) 정책의 알람 "
                               "규칙에 없습니다"},
    "arg_count": {"en": "method {target!r} takes {expected} argument(s) ({names}); the call passes {given}",
                  "ko": "메서드 {target!r} 의 인수는 {expected}개({names})인데 호출은 {given}개를 넘깁니다"},
    # {value} is the value's repr for the two below
    "arg_not_numeric": {"en": "argument {name} = {value} is not a number but the rule sets a range",
                        "ko": "인수 {name} = {value} 은(는) 숫자가 아닌데 규칙은 범위를 정합니다"},
    "arg_not_finite": {"en": "argument {name} = {value} is not a finite number",
                       "ko": "인수 {name} = {value} 은(는) 유한한 숫자가 아닙니다"},
    "arg_below_min": {"en": "argument {name} = {value:g} below allowed minimum {min:g}",
                      "ko": "인수 {name} = {value:g} 이(가) 허용 최솟값 {min:g} 보다 작습니다"},
    "arg_above_max": {"en": "argument {name} = {value:g} above allowed maximum {max:g}",
                      "ko": "인수 {name} = {value:g} 이(가) 허용 최댓값 {max:g} 보다 큽니다"},
    # found by the act step right before sending ({reasons}: nested reasons, each in the same language)
    "conditions_changed": {"en": "conditions changed before acting: {reasons}",
                           "ko": "보내기 직전에 조건이 바뀌었습니다: {reasons}"},
    "now_needs_approval": {"en": "now needs approval", "ko": "이제 승인이 필요합니다"},
    "edited_refused": {"en": "edited value refused: {reasons}", "ko": "수정한 값이 거부되었습니다: {reasons}"},
    "alarm_gone": {"en": "alarm {target} is no longer held by the plant (returned to normal and acknowledged); "
                         "not sent",
                   "ko": "설비에 알람 {target} 이(가) 더 이상 없습니다 (정상 복귀 후 확인됨). 보내지 않았습니다"},
    "alarm_not_acked": {"en": "alarm {target} is not acknowledged yet; it cannot be confirmed before",
                        "ko": "알람 {target} 이(가) 아직 확인(acknowledge)되지 않아 승인(confirm)할 수 없습니다"},
    "alarm_already_done": {"en": "alarm {target} is already {done} at the plant (e.g. by an operator); not sent "
                                 "again",
                           "ko": "알람 {target} 은(는) 설비에서 이미 {verb_ko}되었습니다 (예: 작업자가 HMI 에서). "
                                 "다시 보내지 않았습니다"},
    "alarm_changed": {"en": "alarm {target} changed since the {verb} was proposed (new EventId: it returned to "
                            "normal, or its severity or text changed); propose it again",
                      "ko": "{verb_ko} 제안 뒤에 알람 {target} 이(가) 바뀌었습니다 (새 EventId: 정상 복귀했거나 "
                            "심각도나 문구가 바뀜). 다시 제안하세요"},
    "alarm_severity_changed": {"en": "alarm {target} now has severity {severity}, not {proposed}; propose it again",
                               "ko": "알람 {target} 의 심각도가 {proposed} 이(가) 아니라 이제 {severity} 입니다. "
                                     "다시 제안하세요"},
    "dry_run_no_simulator": {"en": "the policy requires a dry run on the simulator, but no simulator is configured",
                             "ko": "정책이 시뮬레이터 사전 실행을 요구하지만 설정된 시뮬레이터가 없습니다"},
    "dry_run_no_role": {"en": "dry run impossible: role of {target!r} does not exist on the simulator",
                        "ko": "사전 실행 불가: {target!r} 의 역할이 시뮬레이터에 없습니다"},
    "dry_run_failed": {"en": "dry run on the simulator failed: {error}",
                       "ko": "시뮬레이터 사전 실행 실패: {error}"},
    # a reason given as plain text (e.g. a person's edit refused, built from other reasons): not translated
    "text": {"en": "{text}", "ko": "{text}"},
}
ACT_STEP_CODES = frozenset({"conditions_changed", "now_needs_approval", "edited_refused", "alarm_gone",
                            "alarm_not_acked", "alarm_already_done", "alarm_changed", "alarm_severity_changed",
                            "dry_run_no_simulator", "dry_run_no_role", "dry_run_failed"})
"""the codes of refusals found when acting (right before sending, or a person's edit), not by the guard"""
_VERB_KO = {"acknowledge": "확인(acknowledge)", "confirm": "승인(confirm)"}


class Reason(ReasonCode):
    """One refusal reason: a code of :data:`REASONS` and the values its text names. An argument ``reasons`` is a
    list of nested reasons (code + args), shown in the same language, joined with '; '."""

    def text(self, lang: str = "en") -> str:
        """The reason in ``lang`` (``en`` or ``ko``; English for another)."""
        template = localized(REASONS.get(self.code, REASONS["text"]), lang)
        values = dict(self.args)
        if "verb" in values:
            values.setdefault("verb_ko", _VERB_KO.get(str(values["verb"]), str(values["verb"])))
        if isinstance(values.get("reasons"), list):
            values["reasons"] = texts(values["reasons"], lang)
        values.setdefault("text", self.code)
        return template.format(**values)


def plain(text: str) -> Reason:
    """A reason known only as text (shown as it is in every language)."""
    return Reason(code="text", args={"text": text})


def texts(reasons: list[Any], lang: str = "en") -> str:
    """Coded reasons (``Reason``/``ReasonCode`` or their JSON form) in ``lang``, joined with '; '."""
    return "; ".join(Reason.model_validate(r if isinstance(r, Mapping) else r.model_dump()).text(lang)
                     for r in reasons)


def result_reason(result: Mapping[str, Any], lang: str = "en") -> str:
    """An action result's reason (a run report's ``results[i]``) in ``lang``: its ``reason_codes`` in that
    language, or its ``reason`` text as stored when it has none (a reason known only as text, an older run)."""
    codes = result.get("reason_codes")
    if lang == "en" or not isinstance(codes, list) or not codes:
        return str(result.get("reason") or "")
    try:
        return texts(codes, lang)
    except (KeyError, IndexError, ValueError):  # a record this version cannot render: the stored text
        return str(result.get("reason") or "")


def why(code: str, **args: Any) -> Reason:
    """A reason with a known code (a misspelt code fails here, in tests, not on a plant)."""
    if code not in REASONS:
        raise KeyError(f"unknown refusal reason code {code!r}")
    return Reason(code=code, args=args)
