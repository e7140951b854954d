"""Lot traceability for the ABB pilot: link MES lots to process data, find the root-cause station of a quality
escape, and anchor each lot's history in the hash-chained ledger so a customer can verify it.

The flow (``record_line`` does all of it on the simulated line; ``factorypilot trace --record``):

1. ``collect_lots(frames)`` — per lot (the ``lot_id`` signal), per station: mean/min/max of its process values,
   and the good/scrap parts counted while the lot ran;
2. ``write_mes_lots`` / ``read_mes_lots`` — the MES lot table (CP949 CSV) and ``link_mes`` to join it:
   work order and the MES counts, with a flag when MES and line counters disagree;
3. ``root_cause(lots)`` — for every station parameter, the standardised difference between failed and good
   lots; the largest is the root-cause station (the quality gate station itself is the symptom, not a cause);
4. ``anchor_lots(ledger, lots)`` — one ledger record (kind ``trace``) per lot and station, then a lot summary
   that lists the hashes of its station records; keys are idempotent (``trace:<line>:<lot>:<station>``);
5. ``lot_history(ledger, lot)`` — the lot's records with sequence numbers and hashes, the agent runs that
   observed the lot, and a verdict: the chain up to the lot's newest record must verify and every station hash
   named by the summary must still be there. Editing, deleting or reordering any record is detected.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factorypilot.agents import Ledger, LedgerRecord, VerifyReport
from factorypilot.errors import ConfigError, NodeNotFoundError
from factorypilot.pilots.abb._trace_mes import MesLot, read_mes_lots, write_mes_lots
from factorypilot.pilots.abb.plant import STATIONS, TICKS_PER_LOT, AbbModel
from factorypilot.pilots.simulator import Fault, FaultKind, PlantSimulator
from factorypilot.vocabulary import Scalar

__all__ = ["QUALITY_STATION", "TRACE_KIND", "LotHistory", "LotRecord", "MesLot", "StationFinding", "TraceRun",
           "anchor_lots", "collect_lots", "link_mes", "lot_history", "read_mes_lots", "record_line", "root_cause",
           "write_mes_lots"]

TRACE_KIND = "trace"
QUALITY_STATION = "st40-leak"


@dataclass
class LotRecord:
    """One lot's process history: station → role → {mean, min, max}, and its parts."""

    lot: str
    first_tick: int
    last_tick: int
    stations: dict[str, dict[str, dict[str, float]]]
    good: int
    scrap: int
    work_order: str = ""
    mes: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.scrap > 0

    @property
    def result(self) -> str:
        return "fail" if self.failed else "pass"


@dataclass(frozen=True)
class StationFinding:
    station: str
    role: str
    good_mean: float
    failed_mean: float
    score: float
    """|failed mean − good mean| / spread of the per-lot means (larger = more suspicious)."""


def _stats(xs: list[float]) -> dict[str, float]:
    return {"mean": round(sum(xs) / len(xs), 4), "min": round(min(xs), 4), "max": round(max(xs), 4)}


def collect_lots(frames: Sequence[Mapping[str, Scalar]], initial: Mapping[str, Scalar], *,
                 stations: Mapping[str, Sequence[str]] = STATIONS, lot_role: str = "lot_id",
                 counters: tuple[str, str] = ("good_count", "scrap_count"), lots_per_order: int = 4,
                 complete_only: bool = True) -> list[LotRecord]:
    """Group published frames (one per tick) by lot. ``complete_only`` drops the lot still running at the end."""
    lots: list[LotRecord] = []
    values: dict[str, dict[str, list[float]]] = {}
    prev = initial
    start = 0
    counts = [0, 0]

    def close(lot: str, first: int, last: int) -> None:
        order = f"WO-260105-{len(lots) // lots_per_order + 1:03d}"
        lots.append(LotRecord(lot, first, last, {st: {r: _stats(xs) for r, xs in roles.items() if xs}
                                                 for st, roles in values.items()}, counts[0], counts[1], order))

    for tick, frame in enumerate(frames):
        lot = str(frame.get(lot_role) or "")
        if tick > 0 and lot != str(frames[tick - 1].get(lot_role) or ""):
            close(str(frames[tick - 1].get(lot_role)), start, tick - 1)
            values, start, counts = {}, tick, [0, 0]
        for st, roles in stations.items():
            for r in roles:
                v = frame.get(r)
                if isinstance(v, int | float) and not isinstance(v, bool):
                    values.setdefault(st, {}).setdefault(r, []).append(float(v))
        for i, c in enumerate(counters):
            counts[i] += int(frame.get(c) or 0) - int(prev.get(c) or 0)
        prev = frame
    if frames and not complete_only:
        close(str(frames[-1].get(lot_role)), start, len(frames) - 1)
    return lots


def link_mes(lots: list[LotRecord], mes: Mapping[str, MesLot]) -> list[LotRecord]:
    """Attach the MES row of each lot (work order, counts, whether MES and the line's counters agree)."""
    for lot in lots:
        row = mes.get(lot.lot)
        if row is None:
            lot.mes = {"found": False}
            continue
        lot.work_order = row.work_order
        lot.mes = {"found": True, "work_order": row.work_order, "product": row.product, "good": row.good,
                   "scrap": row.scrap, "start": row.start, "end": row.end,
                   "counts_match": (row.good, row.scrap) == (lot.good, lot.scrap)}
    return lots


def root_cause(lots: Sequence[LotRecord], *, exclude: Sequence[str] = (QUALITY_STATION,)) -> list[StationFinding]:
    """Station parameters ranked by how differently they behaved in failed lots (empty: no failed or no good lot)."""
    bad = [lot for lot in lots if lot.failed]
    good = [lot for lot in lots if not lot.failed]
    if not bad or not good:
        return []
    keys = sorted({(st, r) for lot in lots for st, roles in lot.stations.items() for r in roles
                   if st not in exclude})
    out = []
    for st, r in keys:
        g = [lot.stations[st][r]["mean"] for lot in good if r in lot.stations.get(st, {})]
        b = [lot.stations[st][r]["mean"] for lot in bad if r in lot.stations.get(st, {})]
        if not g or not b:
            continue
        allv = g + b
        mu = sum(allv) / len(allv)
        spread = math.sqrt(sum((x - mu) ** 2 for x in allv) / len(allv)) or 1e-9
        gm, bm = sum(g) / len(g), sum(b) / len(b)
        out.append(StationFinding(st, r, round(gm, 4), round(bm, 4), round(abs(bm - gm) / spread, 4)))
    return sorted(out, key=lambda f: -f.score)


def anchor_lots(ledger: Ledger, lots: Sequence[LotRecord], *, line: str = "abb.line-01",
                product: str = AbbModel.product_id) -> list[LedgerRecord]:
    """Anchor every lot: one ``trace`` record per station, then a summary naming their hashes. Idempotent."""
    records: list[LedgerRecord] = []
    for lot in lots:
        run_id = f"trace:{lot.lot}"
        station_hashes: dict[str, str] = {}
        for st in sorted(lot.stations):
            rec = ledger.append(TRACE_KIND, {"lot": lot.lot, "line": line, "station": st, "values": lot.stations[st],
                                             "ticks": [lot.first_tick, lot.last_tick]},
                                run_id=run_id, key=f"trace:{line}:{lot.lot}:{st}")
            station_hashes[st] = rec.hash
            records.append(rec)
        records.append(ledger.append(TRACE_KIND, {
            "lot": lot.lot, "line": line, "station": "summary", "product": product, "work_order": lot.work_order,
            "quality": {"good": lot.good, "scrap": lot.scrap, "result": lot.result}, "mes": lot.mes,
            "station_hashes": station_hashes}, run_id=run_id, key=f"trace:{line}:{lot.lot}:summary"))
    return records


@dataclass
class LotHistory:
    lot: str
    records: list[LedgerRecord]
    chain: VerifyReport
    runs: list[str]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def summary(self) -> dict[str, Any]:
        return next((r.payload for r in self.records if r.payload.get("station") == "summary"), {})

    @property
    def stations(self) -> list[LedgerRecord]:
        return [r for r in self.records if r.payload.get("station") != "summary"]


def lot_history(ledger: Ledger, lot: str) -> LotHistory:
    """The anchored history of ``lot`` and whether it verifies (see the module docstring)."""
    records = [r for r in ledger.records(run_id=f"trace:{lot}", kind=TRACE_KIND) if r.payload.get("lot") == lot]
    if not records:
        known = sorted({str(r.payload.get("lot")) for r in ledger.records(kind=TRACE_KIND)})
        raise NodeNotFoundError(f"lot {lot!r} has no traceability records", where=str(ledger.path),
                                hint=f"anchored lots: {', '.join(known[:8]) or 'none'} "
                                     "(record some with: factorypilot trace --record)")
    chain = ledger.verify()
    last = max(r.seq for r in records)
    # a break *after* the lot's newest record does not touch it (the chain up to there still verifies)
    problems = list(chain.problems) if not chain.ok and (chain.first_bad_seq or 0) <= last else []
    summary = next((r for r in records if r.payload.get("station") == "summary"), None)
    if summary is None:
        problems.append(f"lot {lot}: the summary record is missing")
    else:
        have = {str(r.payload.get("station")): r.hash for r in records}
        for st, h in dict(summary.payload.get("station_hashes") or {}).items():
            if st not in have:
                problems.append(f"lot {lot}: station record {st} is missing")
            elif have[st] != h:
                problems.append(f"lot {lot}: station record {st} does not match the hash in the lot summary")
    runs = sorted({r.run_id for r in ledger.records(kind="observation")
                   if r.run_id and r.payload.get("values", {}).get("lot_id") == lot})
    return LotHistory(lot, records, chain, runs, problems)


@dataclass
class TraceRun:
    lots: list[LotRecord]
    findings: list[StationFinding]
    records: list[LedgerRecord]
    mes_path: Path
    ledger_path: Path


def record_line(home: Path, *, lots: int = 6, seed: int = 3, escape: bool = True) -> TraceRun:
    """Run the simulated ABB line for ``lots`` lots (with a weld-current quality escape from the second lot
    unless ``escape=False``), write and read back the MES lot table, link it, find the root cause, and anchor
    every complete lot in ``home/ledger.sqlite``. Deterministic for a seed (except ledger timestamps)."""
    if lots < 1:
        raise ConfigError(f"lots must be >= 1, got {lots}", where="--lots")
    sim = PlantSimulator(AbbModel, seed=seed, realtime=False)
    if escape:
        sim.inject(Fault(FaultKind.DRIFT, "weld_current", start_tick=TICKS_PER_LOT + 5,
                         duration_ticks=int(TICKS_PER_LOT * 2.5), magnitude=-0.4))
    initial = dict(sim.engine.published)
    frames = []
    for _ in range(lots * TICKS_PER_LOT + 1):
        sim.engine.tick()
        frames.append(dict(sim.engine.published))
    found = collect_lots(frames, initial)
    home = Path(home)
    mes_path = write_mes_lots(found, home / "mes" / f"abb-lots-seed{seed}.csv", product=AbbModel.product_id)
    link_mes(found, read_mes_lots(mes_path))
    with Ledger(home / "ledger.sqlite") as ledger:
        records = anchor_lots(ledger, found)
    return TraceRun(found, root_cause(found), records, mes_path, home / "ledger.sqlite")
