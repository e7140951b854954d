"""A second mobility plant, ``mobility-kr``: a small Korean machining shop that no template was written against.

Same physics as :mod:`.plant` (vibration follows ``(feed/100)²`` and tool wear; a DRIFT on the spindle
vibration is an excitation scaled like it), but a *different naming scheme*, the way small firms' PLC/OPC-UA
servers look in practice:

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

from collections.abc import Mapping
from typing import ClassVar

from factorypilot.pilots.simulator import Asset, Hierarchy, MethodArg, MethodSpec, PlantModel, Signal
from factorypilot.vocabulary import DataType, Limits, Scalar

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


def _alarm_reset(model: PlantModel, args: tuple[Scalar, ...]) -> Scalar:
    assert isinstance(model, MobilityKrModel)
    model.alarm_latched = False
    model.alarm_reset_requested = True
    model.values["alm_on"] = False
    model.values["alm_no"] = 0
    return True


def _maint_req(model: PlantModel, args: tuple[Scalar, ...]) -> Scalar:
    assert isinstance(model, MobilityKrModel)
    model.maintenance_requests.append(str(args[0]) if args else "")
    return f"정비-{len(model.maintenance_requests):04d}"


class MobilityKrModel(PlantModel):
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
        MethodSpec("AlmReset", None, "알람 리셋", "alarm reset", _alarm_reset, output=MethodArg("Ok", B)),
        MethodSpec("MaintReq", "mct-01", "정비 요청", "maintenance request", _maint_req,
                   args=(MethodArg("note", S, "정비 내용"),), output=MethodArg("TicketId", S)),
    )
    absorbs: ClassVar[frozenset[str]] = frozenset({"spdl_vib"})
    alarm_roles: ClassVar[tuple[str, str] | None] = ("alm_on", "alm_no")
    counter_roles: ClassVar[tuple[str, str] | None] = ("ok_qty", "ng_qty")
    product_id: ClassVar[str] = "SS-HUB-0310"

    def reset(self) -> None:
        self.vibration = 2.1
        self.temperature = 45.0
        self.progress = 0.0
        self.alarm_latched = False
        self.alarm_reset_requested = False
        self.maintenance_requests: list[str] = []

    def step(self, tick: int, disturbance: Mapping[str, float]) -> None:
        v, rng = self.values, self.rng
        feed = float(v["f_ovr"] or 0.0) / 100.0
        wear = float(v["t_wear"] or 0.0) / 100.0
        excitation = disturbance.get("spdl_vib", 0.0)
        target_vib = 1.6 + 0.5 * feed**2 + 3.0 * wear**2 * feed + excitation * feed**2
        self.vibration += 0.5 * (target_vib - self.vibration)
        vib = max(0.0, self.vibration + rng.gauss(0.0, 0.04))
        limit = float(v["spdl_vib_sp"] or 11.0)
        if vib > limit:
            self.alarm_latched = True
        elif vib < 0.75 * limit:
            self.alarm_latched = False
        alarm = self.external_alarm is not None or self.alarm_latched
        running = feed > 0.005 and not alarm
        speed = 8000.0 * min(feed, 1.2) * float(v["s_ovr"] or 100.0) / 100.0 if running else 0.0
        load = (30.0 + 45.0 * feed + 20.0 * wear + rng.gauss(0.0, 0.8)) if running else 2.0
        self.temperature += 0.05 * ((22.0 + 0.3 * load + 1.5 * vib) - self.temperature)
        v["spdl_rpm"] = round(max(0.0, speed + (rng.gauss(0.0, 15.0) if running else 0.0)), 3)
        v["spdl_ld"] = round(max(0.0, load), 3)
        v["spdl_vib"] = round(vib, 4)
        v["spdl_brg_tmp"] = round(self.temperature + rng.gauss(0.0, 0.05), 3)
        v["clnt_tmp"] = round(24.0 + 0.02 * load + rng.gauss(0.0, 0.05), 3)
        v["op_sts"] = "ALARM" if alarm else ("RUN" if running else "IDLE")
        v["door_sw"] = not running and not alarm
        v["door_lck"] = running
        v["alm_on"] = alarm
        v["alm_no"] = self.external_alarm if self.external_alarm is not None else (2101 if alarm else 0)
        v["prs_vib"] = round(max(0.0, 0.4 + rng.gauss(0.0, 0.03)), 4)
        v["prs_oil_tmp"] = round(38.0 + rng.gauss(0.0, 0.1), 3)
        if not running:
            return
        self.progress += 0.25 * feed
        while self.progress >= 1.0:
            self.progress -= 1.0
            scrapped = rng.random() < min(0.9, 0.01 + max(0.0, vib - 4.0) * 0.06)
            v["prod_qty"] = int(v["prod_qty"] or 0) + 1
            v["t_cnt"] = int(v["t_cnt"] or 0) + 1
            key = "ng_qty" if scrapped else "ok_qty"
            v[key] = int(v[key] or 0) + 1
            v["prs_ld"] = round(900.0 + rng.gauss(0.0, 20.0), 2)
            v["t_wear"] = round(min(100.0, float(v["t_wear"] or 0.0) + 0.02 * feed**2 * (1.0 + vib / 10.0)), 5)
