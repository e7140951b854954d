"""A second mobility plant, ``mobility-kr``: a small Korean machining shop that no template was written against.

The same physics as :mod:`.plant` (one implementation, :mod:`._line`: vibration follows ``(feed/100)²`` and
tool wear; a DRIFT on the spindle vibration is an excitation scaled like it), but a *different naming scheme*,
the way small firms' PLC/OPC-UA servers look in practice:

- browse names are PLC-style abbreviations (``SPDL_VIB``, ``F_OVR``, ``OP_STS``), display names Korean
  (``스핀들 진동값``), descriptions short and partly Korean;
- a different ISA-95 hierarchy (성서정밀 / 제2공장 / 가공반 / 머시닝라인 / 머시닝센터 1호기, 유압프레스);
- different unit *notation* (``㎜/s``, ``℃``, ``퍼센트``) and a press vibration in ``g``;
- decoys with similar names: spindle *override* next to feed override, a writable vibration alarm setpoint,
  a press vibration, coolant temperature, door *lock* next to door *open*, operating *mode* next to state.

Roles (node id suffixes) are the firm's own codes (``spdl_vib``), never the pilot's role names, so a mapper
cannot cheat by reading the node id of the answer.
"""

from __future__ import annotations

from typing import ClassVar

from factorypilot.pilots.simulator import Asset, Hierarchy, MethodArg, MethodSpec, Signal
from factorypilot.vocabulary import DataType, Limits

from ._line import LineVariant, MachiningLineModel, request_maintenance, reset_alarm

__all__ = ["TRUTH", "MobilityKrModel"]

F, INT, B, S = DataType.FLOAT, DataType.INTEGER, DataType.BOOLEAN, DataType.STRING

TRUTH: dict[str, str] = {
    "spindle_vibration": "spdl_vib",
    "feed_override": "f_ovr",
    "spindle_temperature": "spdl_brg_tmp",
    "tool_wear": "t_wear",
    "door_open": "door_sw",
    "machine_state": "op_sts",
}
"""Ground truth for mapping tests: mobility pilot role → this model's role (node id suffix)."""


class MobilityKrModel(MachiningLineModel):
    name: ClassVar[str] = "mobility-kr"
    title_ko: ClassVar[str] = "성서정밀 머시닝라인 (소기업, 한국식 태그)"
    description: ClassVar[str] = ("A small firm's machining line with Korean, PLC-style tag names and a different "
                                  "hierarchy and unit notation (mapping test plant).")
    hierarchy: ClassVar[Hierarchy] = Hierarchy(
        enterprise=Asset("seongseo", "SeongseoPrecision", "성서정밀", "성서정밀(주)"),
        site=Asset("plant-2", "Plant2", "제2공장", "제2공장"),
        area=Asset("gagong", "GagongBan", "가공반", "가공반"),
        line=Asset("mct-line", "MctLine", "머시닝라인", "MCT 라인"),
    )
    equipment: ClassVar[tuple[Asset, ...]] = (
        Asset("mct-01", "MCT1", "머시닝센터 1호기", "MCT #1 (VMC)"),
        Asset("hyd-press", "HydPress", "유압프레스", "유압 프레스 200t"),
    )
    signals: ClassVar[tuple[Signal, ...]] = (
        Signal("spdl_rpm", "mct-01", "SPDL_RPM", "스핀들 회전수", "SP rpm", F, "rpm", "RPM", (0.0, 12000.0),
               initial=8000.0),
        Signal("spdl_ld", "mct-01", "SPDL_LD", "스핀들 부하율", "SP load", F, "퍼센트", "P1", (0.0, 200.0),
               initial=75.0),
        Signal("spdl_vib", "mct-01", "SPDL_VIB", "스핀들 진동값", "SP vib RMS", F, "㎜/s", "C16", (0.0, 40.0),
               initial=2.1, historize=True),
        Signal("spdl_vib_sp", "mct-01", "SPDL_VIB_SP", "스핀들 진동 경보 설정", "SP vib alarm SV", F, "㎜/s", "C16",
               (0.0, 40.0), writable=True, limits=Limits(low=0.0, high=40.0), initial=11.0),
        Signal("spdl_brg_tmp", "mct-01", "SPDL_BRG_TMP", "주축 베어링 온도", "SP bearing temp", F, "℃", "CEL",
               (0.0, 200.0), initial=45.0, historize=True),
        Signal("clnt_tmp", "mct-01", "CLNT_TMP", "절삭유 온도", "coolant temp", F, "℃", "CEL", (0.0, 100.0),
               initial=24.0),
        Signal("t_wear", "mct-01", "T_WEAR", "공구마모", "tool wear", F, "퍼센트", "P1", (0.0, 100.0), initial=10.0),
        Signal("t_cnt", "mct-01", "T_CNT", "공구 사용 횟수", "tool count", INT, initial=0),
        Signal("f_ovr", "mct-01", "F_OVR", "이송 오버라이드", "F OVR", F, "퍼센트", "P1", (0.0, 150.0),
               writable=True, limits=Limits(low=0.0, high=150.0), initial=100.0, historize=True),
        Signal("s_ovr", "mct-01", "S_OVR", "주축 오버라이드", "S OVR", F, "퍼센트", "P1", (50.0, 120.0),
               writable=True, limits=Limits(low=50.0, high=120.0), initial=100.0),
        Signal("op_sts", "mct-01", "OP_STS", "운전 상태", "RUN/IDLE/ALARM", S, initial="RUN"),
        Signal("op_mode", "mct-01", "OP_MODE", "운전 모드", "AUTO/MDI/JOG", S, initial="AUTO"),
        Signal("door_sw", "mct-01", "DOOR_SW", "안전문 열림", "door SW", B, initial=False),
        Signal("door_lck", "mct-01", "DOOR_LCK", "안전문 잠금", "door lock", B, initial=True),
        Signal("prs_ld", "hyd-press", "PRS_LD", "프레스 하중", "press load", F, "kN", "B47", (0.0, 2000.0),
               initial=900.0),
        Signal("prs_vib", "hyd-press", "PRS_VIB", "프레스 진동", "press vib", F, "g", "K40", (0.0, 16.0),
               initial=0.4),
        Signal("prs_oil_tmp", "hyd-press", "PRS_OIL_TMP", "작동유 온도", "hyd oil temp", F, "℃", "CEL",
               (0.0, 100.0), initial=38.0),
        Signal("prod_qty", None, "PROD_QTY", "생산수량", "prod qty", INT, initial=0),
        Signal("ok_qty", None, "OK_QTY", "양품수량", "OK qty", INT, initial=0),
        Signal("ng_qty", None, "NG_QTY", "불량수량", "NG qty", INT, initial=0),
        Signal("alm_on", None, "ALM_ON", "알람", "alarm", B, initial=False),
        Signal("alm_no", None, "ALM_NO", "알람 번호", "alarm no", INT, initial=0),
    )
    methods: ClassVar[tuple[MethodSpec, ...]] = (
        MethodSpec("AlmReset", None, "알람 리셋", "alarm reset", reset_alarm, output=MethodArg("Ok", B)),
        MethodSpec("MaintReq", "mct-01", "정비 요청", "maintenance request", request_maintenance,
                   args=(MethodArg("note", S, "정비 내용"),), output=MethodArg("TicketId", S)),
    )
    absorbs: ClassVar[frozenset[str]] = frozenset({"spdl_vib"})
    alarm_roles: ClassVar[tuple[str, str] | None] = ("alm_on", "alm_no")
    counter_roles: ClassVar[tuple[str, str] | None] = ("ok_qty", "ng_qty")
    product_id: ClassVar[str] = "SS-HUB-0310"

    line: ClassVar[LineVariant] = LineVariant(
        feed="f_ovr", wear="t_wear", vibration="spdl_vib", speed="spdl_rpm", load="spdl_ld",
        temperature="spdl_brg_tmp", state="op_sts", door="door_sw", alarm_active="alm_on", alarm_code="alm_no",
        parts="prod_qty", strokes="t_cnt", good="ok_qty", scrap="ng_qty", press_force="prs_ld", ticket_prefix="정비",
        press_force_mean=900.0, press_force_sigma=20.0, spindle_override="s_ovr", alarm_setpoint="spdl_vib_sp",
        load_before_speed=True)
    """The naming layer, and this plant's declared draw order: load noise before speed noise, and
    :meth:`extra_readings` draws coolant, press vibration and oil temperature after the bearing temperature."""

    def extra_readings(self, load: float, running: bool) -> None:
        v, rng = self.values, self.rng
        v["clnt_tmp"] = round(24.0 + 0.02 * load + rng.gauss(0.0, 0.05), 3)
        v["door_lck"] = running
        v["prs_vib"] = round(max(0.0, 0.4 + rng.gauss(0.0, 0.03)), 4)
        v["prs_oil_tmp"] = round(38.0 + rng.gauss(0.0, 0.1), 3)
