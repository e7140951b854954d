"""A small Korean↔English manufacturing glossary for BM25 query expansion.

BM25 cannot match a Korean question to an English document (or back); the multilingual embedding can, but
e5-small is weak across languages on short technical text. Expanding the *query* tokens with their
counterparts from this glossary lets the lexical side help. Companies add their own terms with
``KnowledgeConfig.glossary`` (e.g. in-house equipment nicknames).

The table was written alongside the DEV questions (tests/knowledge/questions.yaml), so it is optimistic there. It
must never be extended with wording from the HELD-OUT questions (tests/knowledge/questions_heldout.yaml): that
set measures how retrieval does on words nobody tuned for.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["DEFAULT_GLOSSARY", "build_glossary"]

# english term: korean terms (space separated). Both directions are derived from this table.
DEFAULT_GLOSSARY: dict[str, str] = {
    "accident": "사고", "alarm": "경보 알람", "bearing": "베어링", "belt": "벨트", "burr": "버 버르",
    "cause": "원인", "changeover": "교체 품종교체", "cleanroom": "클린룸", "clearance": "클리어런스 간극",
    "collision": "충돌", "compressor": "압축기 컴프레서", "conveyor": "컨베이어", "coolant": "절삭유 냉각수",
    "cooling": "냉각", "corrective": "대책 시정", "defect": "불량 결함", "die": "금형", "differential": "차압",
    "discharge": "토출", "downtime": "비가동 정지시간", "drain": "드레인 배출", "drill": "드릴",
    "emergency": "비상", "energy": "에너지", "equipment": "설비 장비", "filter": "필터", "fixture": "지그 고정구",
    "gas": "가스", "gripper": "그리퍼", "hose": "호스", "hydraulic": "유압", "incident": "사고",
    "inspection": "점검 검사", "interlock": "인터록", "isolate": "차단", "leak": "누유 누설 누출",
    "lock": "잠금", "lockout": "잠금 차단", "lubrication": "윤활", "maintenance": "정비 보전 유지보수",
    "manual": "매뉴얼 설명서", "mill": "엔드밀", "mold": "금형", "nozzle": "노즐", "oil": "오일 유",
    "overheating": "과열", "particle": "파티클 입자", "porosity": "기공", "press": "프레스",
    "pressure": "압력", "procedure": "절차 절차서", "pump": "펌프", "quality": "품질", "replace": "교체",
    "replacement": "교체", "report": "보고서", "robot": "로봇", "seal": "씰 실", "shielding": "보호",
    "spindle": "스핀들 주축", "stop": "정지", "temperature": "온도", "tool": "공구", "torch": "토치",
    "vibration": "진동", "wear": "마모", "weld": "용접", "welding": "용접", "worn": "마모",
}


def build_glossary(extra: Mapping[str, str] | None = None) -> dict[str, list[str]]:
    """Token → counterpart words, both directions (English keys lower-case)."""
    table: dict[str, set[str]] = {}
    for en, kos in {**DEFAULT_GLOSSARY, **(extra or {})}.items():
        en = en.lower()
        for ko in kos.split():
            table.setdefault(en, set()).add(ko)
            table.setdefault(ko, set()).add(en)
    return {k: sorted(v) for k, v in table.items()}
