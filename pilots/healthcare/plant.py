"""The healthcare model: a medical-device cleanroom (ISO 7) with its air handling unit and a pouch sealer.

Coupling (what the healthcare pilot relies on):

* airborne particles (0.5 µm and 5 µm, counts per m³) follow a contamination source divided by the air-change
  rate, which grows with the AHU fan speed: ``p = 120 000 · source · (60 / fan)²`` with a lag of ½ per tick.
  A DRIFT/SPIKE on ``particles_0_5um`` is extra contamination *inside* the physics, so raising
  ``hvac_fan_setpoint`` lowers it; 5 µm counts follow at 0.75 % of the 0.5 µm counts;
* room differential pressure ``dp = 5 + 17 · fan/100`` Pa (15.2 Pa at 60 %), lag ½; a DRIFT on
  ``differential_pressure`` (a leaking door seal) is absorbed, so raising the fan restores pressure;
* the line holds (``line_state = HOLD``, GMP) while particles exceed the ISO 7 limit (352 000 /m³) or the
  pressure is below 10 Pa, and runs again when both are back in limits;
* one unit is sealed every 2 ticks while running; a unit sealed outside the validated sealer window
  (140–150 °C) is rejected (a batch-record deviation); a fault on ``seal_temperature`` is absorbed (the jaw
  really is that hot).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from factorypilot.pilots.simulator import Asset, Hierarchy, MethodArg, MethodSpec, PlantModel, Signal
from factorypilot.vocabulary import DataType, Limits, Scalar

__all__ = ["PARTICLE_LIMIT_0_5UM", "PARTICLE_LIMIT_5UM", "PRESSURE_MIN_PA", "HealthcareModel"]

F, INT, B, S = DataType.FLOAT, DataType.INTEGER, DataType.BOOLEAN, DataType.STRING
PARTICLE_LIMIT_0_5UM = 352_000.0
"""ISO 14644-1 class 7 limit for ≥0.5 µm particles per m³."""
PARTICLE_LIMIT_5UM = 2_930.0
"""ISO 14644-1 class 7 limit for ≥5 µm particles per m³."""
PRESSURE_MIN_PA = 10.0
SEAL_WINDOW = (140.0, 150.0)


def _record_deviation(model: PlantModel, args: tuple[Scalar, ...]) -> Scalar:
    assert isinstance(model, HealthcareModel)
    model.deviations.append(str(args[0]) if args else "")
    return f"DEV-{len(model.deviations):04d}"


class HealthcareModel(PlantModel):
    name: ClassVar[str] = "healthcare"
    title_ko: ClassVar[str] = "의료기기 클린룸·포장 라인"
    description: ClassVar[str] = "Medical devices: ISO 7 cleanroom with its AHU and a pouch sealing line (GMP)."
    hierarchy: ClassVar[Hierarchy] = Hierarchy(
        enterprise=Asset("daegu-meditech", "DaeguMeditech", "대구메디텍", "Medical-device maker (simulated)"),
        site=Asset("sinseo-plant", "SinseoPlant", "신서공장", "Daegu Sinseo plant"),
        area=Asset("cleanroom", "Cleanroom", "클린룸", "ISO 7 cleanroom"),
        line=Asset("line", "Line", "포장라인", "Sterile barrier packaging line"),
    )
    equipment: ClassVar[tuple[Asset, ...]] = (
        Asset("room-01", "Room01", "클린룸 1실", "ISO 7 packaging room (environmental monitoring)"),
        Asset("ahu-01", "Ahu01", "공조기 1호기", "Air handling unit with HEPA filters"),
        Asset("sealer-01", "Sealer01", "파우치 실링기 1호기", "Pouch heat sealer"),
    )
    signals: ClassVar[tuple[Signal, ...]] = (
        Signal("particles_0_5um", "room-01", "Particles05um", "미립자 0.5㎛", "Airborne particles >= 0.5 um",
               F, "/m³", None, (0.0, 5_000_000.0), initial=120_000.0, historize=True),
        Signal("particles_5um", "room-01", "Particles5um", "미립자 5㎛", "Airborne particles >= 5 um",
               F, "/m³", None, (0.0, 100_000.0), initial=900.0, historize=True),
        Signal("differential_pressure", "room-01", "DifferentialPressure", "실차압",
               "Room differential pressure to the corridor", F, "Pa", "PAL", (0.0, 50.0), initial=15.2,
               historize=True),
        Signal("room_temperature", "room-01", "RoomTemperature", "실내 온도", "Room temperature",
               F, "°C", "CEL", (0.0, 50.0), initial=21.0, historize=True),
        Signal("room_humidity", "room-01", "RoomHumidity", "실내 습도", "Room relative humidity",
               F, "%RH", "P1", (0.0, 100.0), initial=45.0, historize=True),
        Signal("hvac_fan_setpoint", "ahu-01", "FanSetpoint", "공조기 팬 속도 설정", "AHU supply fan speed setpoint",
               F, "%", "P1", (0.0, 100.0), writable=True, limits=Limits(low=30.0, high=100.0), initial=60.0,
               historize=True),
        Signal("seal_temperature", "sealer-01", "SealTemperature", "실링 온도", "Heat sealer jaw temperature",
               F, "°C", "CEL", (0.0, 250.0), initial=145.0, historize=True),
        Signal("line_state", None, "LineState", "라인 상태", "Line state: RUN or HOLD (environment out of limits)",
               S, initial="RUN"),
        Signal("batch_id", None, "BatchId", "배치 번호", "Current batch (lot) number", S, initial="B260105-01"),
        Signal("good_count", None, "GoodCount", "양품 수량", "Units released since start", INT, initial=0,
               historize=True),
        Signal("scrap_count", None, "ScrapCount", "불량 수량", "Units rejected since start", INT, initial=0,
               historize=True),
    )
    methods: ClassVar[tuple[MethodSpec, ...]] = (
        MethodSpec("RecordDeviation", None, "일탈 기록", "Record a GMP deviation in the batch record",
                   _record_deviation, args=(MethodArg("note", S, "What deviated (free text, Korean ok)"),),
                   output=MethodArg("DeviationId", S)),
    )
    absorbs: ClassVar[frozenset[str]] = frozenset({"particles_0_5um", "differential_pressure", "seal_temperature"})
    counter_roles: ClassVar[tuple[str, str] | None] = ("good_count", "scrap_count")
    product_id: ClassVar[str] = "CATH-KIT-3105"
    units_per_batch: ClassVar[int] = 100

    def reset(self) -> None:
        self.particles = 120_000.0
        self.pressure = 15.2
        self.progress = 0.0
        self.units = 0
        self.hold = False
        self.deviations: list[str] = []

    def step(self, tick: int, disturbance: Mapping[str, float]) -> None:
        v, rng = self.values, self.rng
        fan = max(0.05, float(v["hvac_fan_setpoint"] or 0.0) / 100.0)
        source = max(0.05, 1.0 + disturbance.get("particles_0_5um", 0.0))
        target_p = 120_000.0 * source * (0.6 / fan) ** 2
        self.particles += 0.5 * (target_p - self.particles)
        p05 = max(0.0, self.particles * (1.0 + rng.gauss(0.0, 0.02)))
        p5 = max(0.0, p05 * 0.0075 * (1.0 + rng.gauss(0.0, 0.04)))
        target_dp = 5.0 + 17.0 * fan + disturbance.get("differential_pressure", 0.0)
        self.pressure += 0.5 * (target_dp - self.pressure)
        dp = self.pressure + rng.gauss(0.0, 0.08)
        v["particles_0_5um"] = round(p05, 1)
        v["particles_5um"] = round(p5, 1)
        v["differential_pressure"] = round(dp, 3)
        v["room_temperature"] = round(21.0 + rng.gauss(0.0, 0.05), 3)
        v["room_humidity"] = round(45.0 + rng.gauss(0.0, 0.3), 2)
        seal = 145.0 + rng.gauss(0.0, 0.4) + disturbance.get("seal_temperature", 0.0)
        v["seal_temperature"] = round(seal, 2)
        out_of_limits = p05 > PARTICLE_LIMIT_0_5UM or dp < PRESSURE_MIN_PA
        self.hold = out_of_limits
        v["line_state"] = "HOLD" if self.hold else "RUN"
        if self.hold:
            return
        self.progress += 0.5
        while self.progress >= 1.0:
            self.progress -= 1.0
            self.units += 1
            rejected = not (SEAL_WINDOW[0] <= seal <= SEAL_WINDOW[1])
            key = "scrap_count" if rejected else "good_count"
            v[key] = int(v[key] or 0) + 1
            v["batch_id"] = f"B260105-{self.units // self.units_per_batch + 1:02d}"
