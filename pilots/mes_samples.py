"""The MES sample exports shipped with the healthcare, robotics and ABB reference pilots (``<sector>/mes/``).

Regenerate them with ``python -m factorypilot.pilots.mes_samples`` (deterministic: same bytes every time; a
test checks the shipped files are current). Each sector runs its simulator model offline with one typical
fault and writes:

* ``<sector>-production.csv`` / ``.xml`` — production per work order (CP949 CSV with Korean headers, ISA-95
  B2MML V0600 ProductionPerformance), by :func:`~factorypilot.pilots.simulator.mes_export.export_mes`;
* healthcare: ``healthcare-batch-record.csv`` — the electronic batch record summary per batch (UTF-8 with BOM):
  critical parameters, environment extremes and the deviations a GMP review must close;
* ABB: ``abb-lots.csv`` — the MES lot table (CP949) that ``factorypilot trace`` links to process data.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from factorypilot.errors import ConfigError
from factorypilot.pilots.abb._trace_mes import write_mes_lots
from factorypilot.pilots.simulator import Fault, FaultKind, PlantSimulator
from factorypilot.pilots.simulator.mes_export import export_mes
from factorypilot.vocabulary import Scalar

__all__ = ["SECTORS", "generate_samples"]

SECTORS = ("healthcare", "robotics", "abb")
_FAULTS = {
    "healthcare": [Fault(FaultKind.DRIFT, "seal_temperature", start_tick=150, duration_ticks=40, magnitude=0.3),
                   Fault(FaultKind.DRIFT, "particles_0_5um", start_tick=300, duration_ticks=50, magnitude=0.08)],
    "robotics": [Fault(FaultKind.DRIFT, "joint2_torque", start_tick=200, duration_ticks=150, magnitude=0.3)],
    "abb": [Fault(FaultKind.DRIFT, "weld_current", start_tick=60, duration_ticks=60, magnitude=-0.4)],
}
_TICKS = 400
_BATCH_HEADERS = ("배치번호", "품번", "양품수량", "불량수량", "실링온도_최소", "실링온도_최대", "미립자0.5_최대",
                  "차압_최소", "일탈")


def _num(v: Scalar) -> float:
    return float(v) if isinstance(v, int | float) else 0.0


def _batch_record(frames: list[dict[str, Scalar]], product: str) -> bytes:
    batches: dict[str, list[dict[str, Scalar]]] = {}
    for f in frames:
        batches.setdefault(str(f["batch_id"]), []).append(f)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(_BATCH_HEADERS)
    prev_good = prev_scrap = 0
    for batch, rows in batches.items():
        seal = [_num(r["seal_temperature"]) for r in rows]
        p05 = max(_num(r["particles_0_5um"]) for r in rows)
        dp = min(_num(r["differential_pressure"]) for r in rows)
        good, scrap = int(_num(rows[-1]["good_count"])), int(_num(rows[-1]["scrap_count"]))
        deviations = []
        if min(seal) < 140 or max(seal) > 150:
            deviations.append("실링 온도 밸리데이션 범위(140~150℃) 이탈")
        if p05 > 352_000:
            deviations.append("0.5㎛ 미립자 ISO 7 기준 초과")
        if dp < 10:
            deviations.append("실차압 10 Pa 미만")
        w.writerow([batch, product, good - prev_good, scrap - prev_scrap, f"{min(seal):.2f}", f"{max(seal):.2f}",
                    f"{p05:.0f}", f"{dp:.2f}", "; ".join(deviations) or "없음"])
        prev_good, prev_scrap = good, scrap
    return buf.getvalue().encode("utf-8-sig")


def generate_samples(sector: str, out_dir: Path, *, seed: int = 1) -> list[Path]:
    """Write the sample exports of ``sector`` into ``out_dir``; returns the files written."""
    if sector not in SECTORS:
        raise ConfigError(f"no MES samples for sector {sector!r}", hint=f"one of: {', '.join(SECTORS)}")
    sim = PlantSimulator(sector, seed=seed, realtime=False)
    for fault in _FAULTS[sector]:
        sim.inject(fault)
    initial = dict(sim.engine.published)
    frames: list[dict[str, Scalar]] = []
    for _ in range(_TICKS):
        sim.engine.tick()
        frames.append(dict(sim.engine.published))
    out_dir.mkdir(parents=True, exist_ok=True)
    export = export_mes(sim, out_dir, ticks_per_order=100, tick_seconds=1.0, stem=f"{sector}-production")
    files = [export.csv_path, export.xml_path]
    product = sim.engine.cls.product_id
    if sector == "healthcare":
        path = out_dir / "healthcare-batch-record.csv"
        path.write_bytes(_batch_record(frames, product))
        files.append(path)
    elif sector == "abb":
        from factorypilot.pilots.abb.trace import collect_lots

        files.append(write_mes_lots(collect_lots(frames, initial), out_dir / "abb-lots.csv", product=product))
    return files


def main() -> None:  # pragma: no cover - a maintenance script
    root = Path(__file__).parent
    for sector in SECTORS:
        generate_samples(sector, root / sector / "mes")


if __name__ == "__main__":  # pragma: no cover
    main()
