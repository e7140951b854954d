"""Why the safety guard refused: a stable code per reason, its values, and its text in English and Korean.

A :class:`Reason` is what :class:`~factorypilot.agents.safety.Guard` records (``Decision.codes``); its English
text is ``Decision.reasons`` as before, and :meth:`Reason.text` gives the Korean one. The texts are
``{"en": ..., "ko": ...}`` mappings picked with :func:`~factorypilot.agents.planners.base.localized`, the same
convention as playbook texts. A code is stable: tools may match on it; the wording may change.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from factorypilot.agents.planners.base import LocalizedText, localized

__all__ = ["REASONS", "Reason", "why"]

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
    # a reason given as plain text (e.g. a person's edit refused, built from other reasons): not translated
    "text": {"en": "{text}", "ko": "{text}"},
}
_VERB_KO = {"acknowledge": "확인(acknowledge)", "confirm": "승인(confirm)"}


class Reason(BaseModel):
    """One refusal reason: a code of :data:`REASONS` and the values its text names."""

    model_config = ConfigDict(frozen=True)

    code: str
    args: dict[str, Any] = Field(default_factory=dict)

    def text(self, lang: str = "en") -> str:
        """The reason in ``lang`` (``en`` or ``ko``; English for another)."""
        template = localized(REASONS.get(self.code, REASONS["text"]), lang)
        values = dict(self.args)
        if "verb" in values:
            values.setdefault("verb_ko", _VERB_KO.get(str(values["verb"]), str(values["verb"])))
        values.setdefault("text", self.code)
        return template.format(**values)


def why(code: str, **args: Any) -> Reason:
    """A reason with a known code (a misspelt code fails here, in tests, not on a plant)."""
    if code not in REASONS:
        raise KeyError(f"unknown refusal reason code {code!r}")
    return Reason(code=code, args=args)
