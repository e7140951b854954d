"""Built-in column-name aliases (English and Korean) used when a mapping does not name a column."""

from __future__ import annotations

import re

from factorypilot.connectors.mes.records import FIELDS, RecordKind

ALIASES: dict[str, tuple[str, ...]] = {
    "order_id": ("order", "orderid", "work_order", "workorder", "wo", "작업지시", "작업지시번호", "지시번호",
                 "오더번호"),
    "product": ("product", "item", "part", "품목", "품번", "제품", "제품코드", "품목코드"),
    "quantity": ("qty", "quantity", "수량", "지시수량", "오더수량", "불량수량", "폐기수량"),
    "unit": ("uom", "unit", "단위"),
    "status": ("status", "state", "상태", "작업상태", "진행상태"),
    "equipment": ("equipment", "machine", "equipment_id", "설비", "설비코드", "설비명", "기계", "호기"),
    "start": ("start", "start_time", "begin", "시작", "시작시간", "시작일시", "시작시각", "정지시작"),
    "end": ("end", "end_time", "finish", "종료", "종료시간", "종료일시", "종료시각", "정지종료"),
    "time": ("time", "timestamp", "datetime", "end_time", "일시", "시간", "생산일시", "발생일시", "기록시간",
             "종료시각", "종료일시", "종료시간", "완료시각", "시각", "시작시각", "시작일시", "start_time",
             "작업일자", "생산일자", "작업일", "생산일", "일자", "날짜", "date", "work_date", "workdate"),
    "good": ("good", "good_qty", "ok", "양품", "양품수량", "양품수", "합격수량"),
    "planned": ("planned", "plan", "plan_qty", "planned_qty", "target", "계획수량", "계획", "목표수량"),
    "produced": ("produced", "produced_qty", "output", "total_qty", "생산수량", "생산량", "실적수량"),
    "downtime_minutes": ("downtime", "downtime_min", "downtime_minutes", "비가동시간", "비가동시간(분)", "비가동",
                         "정지시간", "정지시간(분)", "비가동(분)"),
    "operator": ("operator", "worker", "작업자", "담당자", "작업자명"),
    "remarks": ("remarks", "remark", "note", "notes", "comment", "비고", "메모", "특이사항"),
    "scrap": ("scrap", "ng", "reject", "불량", "불량수", "불량수량", "폐기"),
    "lot_id": ("lot", "lot_id", "lotno", "lot_no", "로트", "로트번호", "lot번호"),
    "shift": ("shift", "근무조", "조", "교대"),
    "reason": ("reason", "cause", "사유", "원인", "불량유형", "정지사유"),
    "minutes": ("minutes", "duration", "duration_min", "정지시간", "비가동시간", "시간(분)"),
    "category": ("category", "구분", "유형"),
    "material": ("material", "material_id", "자재", "자재코드"),
    "material_id": ("material", "material_id", "자재", "자재코드"),
    "location": ("location", "storage", "위치", "창고"),
    "description": ("description", "desc", "설명", "품명"),
    "equipment_id": ("equipment", "equipment_id", "설비", "설비코드"),
    "name": ("name", "이름", "명칭", "설비명"),
    "level": ("level", "레벨"),
    "equipment_class": ("class", "equipment_class", "설비유형"),
    "material_class": ("class", "material_class", "자재유형"),
    "parent": ("parent", "상위", "상위설비"),
}


def norm(name: str) -> str:
    return re.sub(r"[\s_\-/.()]+", "", name.strip().lower())


def auto_columns(columns: list[str], kind: RecordKind, explicit: dict[str, str]) -> dict[str, str]:
    """source column -> canonical field: the explicit mapping first, then exact names, then aliases."""
    out = {src: dst for src, dst in explicit.items() if src in columns}
    taken = set(out.values())
    by_norm: dict[str, str] = {}
    for col in columns:
        by_norm.setdefault(norm(col), col)
    for field in FIELDS[kind]:
        if field in taken:
            continue
        for alias in (field, *ALIASES.get(field, ())):  # aliases in priority order
            found = by_norm.get(norm(alias))
            if found is not None and found not in out:
                out[found] = field
                taken.add(field)
                break
    return out


def kind_scores(columns: list[str]) -> dict[RecordKind, float]:
    """Per kind whose required fields are all found: the share of the file's columns it maps."""
    out: dict[RecordKind, float] = {}
    for kind, fields in FIELDS.items():
        got = set(auto_columns(columns, kind, {}).values())
        if all(f in got for f, (_, req) in fields.items() if req):
            out[kind] = len(got) / max(1, len(columns))
    return out


def guess_kind(columns: list[str]) -> RecordKind | None:
    """The kind whose required fields are all found and that maps the most columns (first listed on a tie)."""
    scores = kind_scores(columns)
    return max(scores, key=lambda k: scores[k]) if scores else None


def confidence(column: str, field: str, explicit: dict[str, str]) -> float:
    """How sure a column -> field proposal is before looking at values: 1.0 named in the mapping, 0.9 a header of
    the lexicon (the field's name or an alias), 0.5 otherwise; ``_propose`` multiplies by how well values fit."""
    if column in explicit:
        return 1.0
    names = [field, *ALIASES.get(field, ())]
    return 0.9 if any(norm(a) == norm(column) for a in names) else 0.5
