"""``factorypilot match --example``: a commented blank firm profile (Korean by default, English on request)."""

from __future__ import annotations

__all__ = ["example_profile"]

_KO = """\
# 기업 프로필 — factorypilot match 가 이 기업에 맞는 템플릿을 추천할 때 읽는 파일입니다.
# 한국어로 편하게 쓰세요. 키 이름(영문)만 그대로 두면 됩니다. 모르는 칸은 비워 두거나 지워도 됩니다.
# 목록에 없는 키를 더 적어도 매칭은 진행되며, 사용하지 않는 키라고 경고만 표시합니다.
id: firm-001                     # 짧은 식별자 (비우면 파일 이름)
language: ko                     # ko 또는 en (비우면 목표 문장에서 자동 판별)
company:
  name: 성서정밀                  # 회사명
  name_en: Seongseo Precision    # 영문명 (선택)
  location: 대구 달서구 성서산업단지
  employees: 40
sector_hint: 자동차 부품 가공      # 업종 (자유롭게) — 참고용이며 목표보다 가볍게 반영됩니다
products:                        # 주요 제품
  - 브레이크 캘리퍼 하우징
equipment:                       # 보유 설비: 한 줄 글로 쓰거나, 항목별로 나눠 써도 됩니다
  - CNC 선반 12대
  - type: 머시닝센터
    count: 4
    maker: 두산
    notes: 화낙 컨트롤러
data_sources:
  opcua:
    available: true              # OPC UA로 설비 데이터를 읽을 수 있으면 true, 없으면 false, 모르면 비움
    endpoint: opc.tcp://192.168.0.10:4840
    notes: 게이트웨이 경유
  mes:
    vendor: 스마트공장 보급형 MES   # 없으면 "없음"
    export_formats: [xlsx, csv]   # 내려받을 수 있는 형식
  other:
    - 작업일보 (엑셀)
goals:                           # 가장 중요합니다: 기업이 풀고 싶은 문제를 한 문장씩, 현장 말 그대로
  - 주축 베어링 고장으로 라인이 서는 일을 줄이고 싶다
  - 공구 마모 상태를 보고 교체 시점을 정하고 싶다
constraints:                     # 안 되는 것, 금지된 것, 관심 없는 것 (예: 고객사 승인 없이 조건 변경 금지)
  - 고객사 승인 없이 가공 조건을 바꾸는 것은 금지
notes: 방문 메모 등 자유 기술
"""

_EN = """\
# Firm profile — read by `factorypilot match` to recommend a template for this firm.
# Write freely in English or Korean; keep the key names. Leave out what you do not know.
# Extra keys are allowed: matching goes ahead and names them in a warning.
id: firm-001                     # short id (default: the file name)
language: en                     # en or ko (default: detected from the goals)
company:
  name: Seongseo Precision
  name_en: Seongseo Precision
  location: Seongseo industrial complex, Daegu
  employees: 40
sector_hint: auto parts machining  # free text; weighs less than the goals
products:
  - brake caliper housings
equipment:                       # plain text, or an object per item
  - CNC lathe x 12
  - type: machining centre
    count: 4
    maker: Doosan
    notes: Fanuc controllers
data_sources:
  opcua:
    available: true              # true / false / leave empty if unknown
    endpoint: opc.tcp://192.168.0.10:4840
    notes: through a gateway
  mes:
    vendor: none
    export_formats: [xlsx, csv]
  other:
    - daily production log (Excel)
goals:                           # most important: the problems the firm wants solved, one sentence each
  - fewer line stops from spindle bearing failures
  - change tools on their wear, not on a fixed count
constraints:                     # what is forbidden, impossible or out of scope
  - the customer forbids changing machining conditions without approval
notes: visit notes, free text
"""


def example_profile(lang: str = "ko") -> str:
    """A commented, valid profile to copy and fill in."""
    return _EN if lang == "en" else _KO
