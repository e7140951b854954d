"""Why a template ranks where it does, in Korean and English, quoting the firm's own sentences.

Every line is a ``{"ko": ..., "en": ...}`` pair. The firm's goal/constraint sentences are quoted verbatim (in the
language the profile was written in); the template's statements and KPI names are in the reader's language.
"""

from __future__ import annotations

from factorypilot.pilots.spreading._profile import FirmProfile
from factorypilot.pilots.spreading._rank import Evidence, Fit, sector_of

__all__ = ["KPI_NAMES", "close_call", "decide", "reasons"]

Line = dict[str, str]

KPI_NAMES: dict[str, Line] = {
    "oee": {"en": "OEE", "ko": "설비종합효율(OEE)"},
    "downtime": {"en": "downtime", "ko": "비가동 시간"},
    "scrap_rate": {"en": "scrap rate", "ko": "불량률"},
    "mttr": {"en": "mean time to repair (MTTR)", "ko": "평균 수리 시간(MTTR)"},
}
_KPI_WORDS: dict[str, tuple[str, ...]] = {
    "downtime": ("downtime", "stop", "breakdown", "fail", "비가동", "정지", "고장", "멈", "서 있", "가동률"),
    "scrap_rate": ("scrap", "defect", "reject", "bad part", "escape", "불량", "스크랩", "수율", "유출"),
    "oee": ("oee", "productivity", "throughput", "capacity", "output", "설비종합효율", "생산성", "생산량", "효율"),
    "mttr": ("mttr", "repair", "recover", "restart", "수리", "복구", "재가동", "복귀"),
}
_GOAL_SHOWN = 0.4      # a goal is quoted for a template that takes at least this share of it
_CLOSE = 0.15          # two scores closer than this are a close call


def _q(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return f"“{text if len(text) <= limit else text[: limit - 1] + '…'}”"


def _kpis(profile: FirmProfile, fit: Fit) -> Line | None:
    text = " ".join(profile.goals).lower()
    hit = [k for k in fit.entry.manifest.kpis if any(w in text for w in _KPI_WORDS.get(k, ()))]
    if not hit:
        return None
    return {lang: ("관련 KPI 측정: " if lang == "ko" else "measures the KPIs your goals name: ")
            + ", ".join(KPI_NAMES.get(k, {}).get(lang, k) for k in hit) for lang in ("ko", "en")}


def _goal_line(e: Evidence) -> Line:
    st = e.statement
    pct = f"{e.share:.0%}"
    return {"ko": f"목표 {_q(e.sentence)} → 해결: {_q(st.ko if st else '')} ({pct})",
            "en": f"goal {_q(e.sentence)} → solves: {_q(st.en if st else '')} ({pct})"}


def _gate_line(fit: Fit) -> Line:
    entry = fit.entry
    gate = entry.manifest.gate
    if getattr(entry, "reference", False):
        name = entry.path.name
        if gate.passed:
            return {"ko": f"레퍼런스 파일럿, 평가 게이트 통과 ({gate.report})",
                    "en": f"reference pilot, passed its evaluation gate ({gate.report})"}
        return {"ko": f"레퍼런스 파일럿, 이 설치에서는 아직 평가 전 (factorypilot eval {name} --gate)",
                "en": f"reference pilot, not yet evaluated on this install (factorypilot eval {name} --gate)"}
    if gate.passed and not gate.overridden:
        return {"ko": "평가 게이트 통과", "en": "passed its evaluation gate"}
    return {"ko": "게이트 미통과 상태로 배포됨 (예외 승인 기록)",
            "en": "exported without a passed gate (override recorded)"}


def _source_note(profile: FirmProfile, source: str) -> str:
    if source == "opcua" and profile.data_sources.opcua is not None:
        return profile.data_sources.opcua.notes or ""
    if source == "mes-files" and profile.data_sources.mes is not None:
        return profile.data_sources.mes.vendor or ""
    return ""


def reasons(profile: FirmProfile, fit: Fit) -> list[Line]:
    """The lines that explain one template's score, strongest evidence first."""
    out: list[Line] = []
    goals = sorted(fit.by_kind("goal"), key=lambda e: -e.share)
    shown = [e for e in goals if e.share >= _GOAL_SHOWN]
    out += [_goal_line(e) for e in shown]
    if profile.goals and not shown:
        out.append({"ko": "이 템플릿이 해결하는 문제와 맞는 목표가 없음",
                    "en": "none of the firm's goals is what this template solves"})
    if not profile.goals:
        out.append({"ko": "목표가 적혀 있지 않아 업종·설비로만 판단함 (goals를 적어 주세요)",
                    "en": "no goals written; judged on sector hint and equipment only (add goals)"})
    if (kpi := _kpis(profile, fit)) is not None and shown:
        out.append(kpi)
    for e in fit.by_kind("constraint"):
        if e.points <= -0.02:
            st = e.statement
            out.append({"ko": f"제약 {_q(e.sentence)} → 맞지 않음: {_q(st.ko if st else '')} ({e.points:+.2f})",
                        "en": f"constraint {_q(e.sentence)} → does not fit: {_q(st.en if st else '')} "
                              f"({e.points:+.2f})"})
    for e in fit.by_kind("data"):
        st = e.statement
        note = _source_note(profile, e.sentence)
        listed = (profile.data_sources.opcua if e.sentence == "opcua" else profile.data_sources.mes) is not None
        ko_state, en_state = ("사용 불가", "not available") if listed else ("기재 없음", "not listed")
        out.append({"ko": f"필요 데이터가 없음: {st.ko if st else e.sentence} (프로필: {ko_state}"
                          + (f" — {note}" if note else "") + f") ({e.points:+.2f})",
                    "en": f"missing data it needs: {st.en if st else e.sentence} (profile: {en_state}"
                          + (f" — {note}" if note else "") + f") ({e.points:+.2f})"})
    for e in fit.by_kind("sector"):
        out.append({"ko": f"업종 힌트 {_q(e.sentence, 50)} → {fit.entry.manifest.sector}",
                    "en": f"sector hint {_q(e.sentence, 50)} → {fit.entry.manifest.sector}"})
    eq = max(fit.by_kind("equipment"), key=lambda e: e.share, default=None)
    if eq is not None and eq.share >= 0.5 and eq.statement is not None:
        out.append({"ko": f"설비 {_q(eq.sentence, 50)} → 관련: {_q(eq.statement.ko, 90)}",
                    "en": f"equipment {_q(eq.sentence, 50)} → relates to: {_q(eq.statement.en, 90)}"})
    out.append(_gate_line(fit))
    if fit.tied:
        out.append({"ko": "동점: 근거로 구분되지 않음 (순서는 의미 없음)",
                    "en": "tie: no evidence separates it from its neighbour (order is not meaningful)"})
    return out


def close_call(profile: FirmProfile, fits: list[Fit]) -> bool:
    """Two scores within 0.15, or no goals at all (sector and equipment alone never make a firm choice)."""
    return len(fits) > 1 and (fits[0].score - fits[1].score < _CLOSE or not any(g.strip() for g in profile.goals))


def decide(profile: FirmProfile, fits: list[Fit]) -> list[Line]:
    """For a close call: what would decide between the first two."""
    if len(fits) < 2:
        return []
    a, b = fits[0], fits[1]
    ida, idb = a.entry.id, b.entry.id
    out: list[Line] = []
    share = {(e.sentence, f.entry.id): e.share for f in (a, b) for e in f.by_kind("goal")}
    for g in profile.goals:
        sa, sb = share.get((g, ida), 0.0), share.get((g, idb), 0.0)
        if max(sa, sb) >= 0.3:
            winner = ida if sa >= sb else idb
            out.append({"ko": f"가장 중요한 목표가 {_q(g)}라면 → {winner}",
                        "en": f"if {_q(g)} matters most → {winner}"})
    missing = {f.entry.id: [e.sentence for e in f.by_kind("data")] for f in (a, b)}
    for tid, srcs in missing.items():
        if srcs:
            out.append({"ko": f"{tid}에 필요한 {', '.join(srcs)} 연결 가능 여부 확인",
                        "en": f"check whether {', '.join(srcs)} can be connected for {tid}"})
    if not profile.goals:
        out.append({"ko": "기업의 목표(goals)를 적으면 결정할 수 있음",
                    "en": "write the firm's goals: they decide the ranking"})
    hinted = sector_of(profile.sector_hint or "")
    if not out and not hinted:
        out.append({"ko": "목표를 더 구체적으로 (어느 설비의 어떤 문제인지) 적어 주세요",
                    "en": "write the goals more concretely (which equipment, which problem)"})
    return out
