"""Benchmark: the fault matrix as a table, plant-back-to-confirmed time, and a soak row.

    python benchmarks/faults.py                   # matrix + outage timing + a 2-minute soak
    python benchmarks/faults.py --soak-minutes 10
    python benchmarks/faults.py --quick           # matrix + outage timing, 30 s soak
    python benchmarks/faults.py --soak-only --soak-minutes 3

1. The matrix (``tests/e2e/_fault_cells.py``, 81 cells): a real ``factorypilot pilot run`` killed with SIGKILL at
   every node boundary and every write-ahead step of each kind of action × {value unchanged, changed by an
   operator before the restart, plant down at restart}, then ``pilot resume`` (each command a process forked
   from a server that imported the CLI once, ``tests/e2e/_zygote.py``). Per cell: writes of the target value,
   ``ResetAlarm`` calls and notes *observed on the simulator / store*, what was expected, and the verdict.
2. Plant back → action confirmed: a running service gets an approval while the plant is down, parks the run as
   ``waiting_for_plant``; the plant comes back; the time until the run is ``done`` (its retry back-off shows
   here). The baseline is the same service's time from approval to ``done`` with the plant up.
3. Soak: service + simulator for N minutes with a drifting spindle: runs handled, the service's RSS at start
   and end (and their ratio), ``checkpoints.sqlite`` size at start and end, bytes per run.
"""

from __future__ import annotations

import argparse
import importlib.util
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from factorypilot.pilots.simulator import Fault, FaultKind, PlantHandle, running_plant


def _load(name: str) -> ModuleType:
    path = Path(__file__).resolve().parent.parent / "tests" / "e2e" / f"_{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _cells() -> ModuleType:
    return _load("fault_cells")


def _plant(seed: int = 3) -> Any:
    return running_plant(model="mobility", seed=seed, realtime=True, tick_seconds=0.1)


def matrix(fc: ModuleType) -> list[float]:
    print("## fault matrix (kill -9, counted on the simulator)\n")
    print("| crash point | fault at restart | writes seen / expected | calls seen / expected | notes | run status |"
          " verdict |")
    print("|---|---|---|---|---|---|---|")
    back: list[float] = []
    with _load("zygote").Zygote() as zygote:  # each command a forked process of a server that imported the CLI
        for cell in fc.CELLS:
            back += _cell(fc, cell, zygote)
    return back


def _cell(fc: ModuleType, cell: Any, zygote: Any) -> list[float]:
    """Run one cell, print its row; the plant-back-to-confirmed time when the plant was down at restart."""
    with tempfile.TemporaryDirectory() as tmp, _plant() as plant:
        seen = fc.run_cell(cell, Path(tmp), plant, zygote.run)
        problems = fc.check(cell, seen, plant)
    verdict = "ok" if not problems else "FAIL: " + "; ".join(problems)
    print(f"| {cell.point} | {cell.fault} | {seen.writes} / {cell.writes} | {seen.calls} / {cell.calls} | "
          f"{seen.notes} | {seen.status} | {verdict} |")
    return [seen.plant_back_to_confirmed_s] if seen.plant_back_to_confirmed_s is not None else []


def _status(home: Path) -> list[str]:
    try:
        db = sqlite3.connect(home / "agent.sqlite")
        try:
            return [s for (s,) in db.execute("SELECT status FROM runs")]
        finally:
            db.close()
    except sqlite3.Error:
        return []


def _wait(cond: Any, limit: float = 180.0) -> float:
    start = time.perf_counter()
    while not cond():
        if time.perf_counter() - start > limit:
            raise TimeoutError("condition never held")
        time.sleep(0.05)
    return time.perf_counter() - start


def outage(fc: ModuleType, down: bool) -> float:
    """Seconds from the plant's return (or, with the plant up, from the approval) to the run being done."""
    with tempfile.TemporaryDirectory() as tmp, _plant() as plant:
        root = Path(tmp)
        spec, bindings, home = fc.setup(root, plant)
        data = yaml.safe_load(Path(spec).read_text(encoding="utf-8"))
        data["policy"]["tags"][0]["approval"] = "always"
        Path(spec).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        fc.excite(plant)
        service = subprocess.Popen([*fc.args("run", spec, plant, bindings), "--seconds", "300"], env=fc.env(home),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait(lambda: _status(home) == ["waiting_approval"])
            db = sqlite3.connect(home / "agent.sqlite")
            run_id = db.execute("SELECT run_id FROM runs").fetchone()[0]
            db.close()
            if down:
                plant.stop()
            subprocess.run([fc.EXE, "runs", "approve", run_id, "--by", "bench"], env=fc.env(home), check=True,
                           capture_output=True)
            if down:
                _wait(lambda: _status(home) == ["waiting_for_plant"])
                plant.start()
            return _wait(lambda: _status(home) == ["done"])
        finally:
            service.send_signal(signal.SIGTERM)
            service.wait(timeout=60)


def _db_bytes(path: Path) -> int:
    """The database and its write-ahead log (recent checkpoints live in the WAL until a checkpoint)."""
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def soak(fc: ModuleType, minutes: float) -> None:
    with tempfile.TemporaryDirectory() as tmp, _plant() as plant:
        spec, bindings, home = fc.setup(Path(tmp), plant)
        service = subprocess.Popen([*fc.args("run", spec, plant, bindings), "--seconds", str(minutes * 60 + 30)],
                                   env=fc.env(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait(lambda: (home / "checkpoints.sqlite").exists())
            time.sleep(3)  # let the service settle before the first RSS sample
            rss0, size0 = _rss_kb(service.pid), _db_bytes(home / "checkpoints.sqlite")
            end = time.monotonic() + minutes * 60
            while time.monotonic() < end and service.poll() is None:
                _kick(plant)  # an excursion every 35 s (the detector's cool-down is 30 s)
                time.sleep(min(35.0, max(0.0, end - time.monotonic())))
            rss1, size1 = _rss_kb(service.pid), _db_bytes(home / "checkpoints.sqlite")
        finally:
            service.send_signal(signal.SIGTERM)
            service.wait(timeout=60)
        runs = len(_status(home))
    print(f"\n## soak ({minutes:g} min, service + simulator, a spindle excursion every 35 s)\n")
    print("| runs | RSS start | RSS end | RSS end/start | checkpoints start | checkpoints end | bytes/run |")
    print("|---|---|---|---|---|---|---|")
    per_run = (size1 - size0) / runs if runs else 0
    print(f"| {runs} | {rss0 / 1024:.0f} MB | {rss1 / 1024:.0f} MB | {rss1 / max(rss0, 1):.2f} | "
          f"{size0 / 1e6:.2f} MB | {size1 / 1e6:.2f} MB | {per_run:,.0f} |")


def _kick(plant: PlantHandle) -> None:
    plant.clear_faults()
    plant.inject(Fault(FaultKind.SPIKE, "spindle_vibration", start_tick=plant.tick_index + 2, magnitude=3.0,
                       duration_ticks=30))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--soak-minutes", type=float, default=2.0)
    parser.add_argument("--quick", action="store_true", help="30 s soak")
    parser.add_argument("--soak-only", action="store_true", help="only the soak row")
    ns = parser.parse_args()
    fc = _cells()
    if ns.soak_only:
        soak(fc, 0.5 if ns.quick else ns.soak_minutes)
        return
    back = matrix(fc)
    print("\n## plant back → action confirmed\n")
    if back:
        print(f"- `pilot resume` after the plant came back (process start included): "
              f"{min(back):.2f}–{max(back):.2f} s over {len(back)} cells")
    up = outage(fc, down=False)
    after = outage(fc, down=True)
    print(f"- running service, approval with the plant up → done: {up:.2f} s (baseline)")
    print(f"- running service, approval during an outage, plant back → done: {after:.2f} s "
          f"({after / up:.1f}× the baseline; the retry back-off doubles from 1 s to 30 s)")
    soak(fc, 0.5 if ns.quick else ns.soak_minutes)


if __name__ == "__main__":
    main()
