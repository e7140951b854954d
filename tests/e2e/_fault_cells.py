"""One cell of the fault matrix: a real ``factorypilot pilot run`` killed with SIGKILL at a chosen point, a
fault applied to the plant before the restart, ``factorypilot pilot resume``, and what the *simulator* saw.

Shared by ``tests/e2e/test_fault_matrix.py`` and ``benchmarks/faults.py``. The pilot is the mobility reference
pilot with a method added to its vibration playbook, so one run issues all three kinds of action: the feed
write (``write``), ``ResetAlarm`` (``method``, confirmed by ``alarm_active == false``) and the maintenance
note (``note``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from asyncua import Client, ua

from factorypilot.agents import Ledger
from factorypilot.pilots.runtime import reference_pilots
from factorypilot.pilots.simulator import Fault, FaultKind, PlantHandle

EXE = str(Path(sys.executable).with_name("factorypilot"))
PILOT = [sys.executable, str(Path(__file__).with_name("_crashing_cli.py"))]  # the CLI with the crash probe
TARGET = 85.0  # what the playbook writes (feed 100 - 15)
OPERATOR = 100.0  # what the operator puts back on the HMI


@dataclass
class Cell:
    point: str  # FACTORYPILOT_TEST_CRASH_AT value
    fault: str  # unchanged | operator | plant_down
    writes: int  # expected agent writes of TARGET on the simulator
    calls: int  # expected ResetAlarm calls on the simulator
    write_status: str  # expected read-back status of the feed write
    write_after_restart: bool
    method_after_restart: bool
    status: str  # expected run status


NODES = ("observe", "detect", "retrieve", "plan", "guard", "approve", "act", "verify", "report")
KINDS = ("write", "method", "note")  # the order the playbook issues them in
FAULTS = ("unchanged", "operator", "plant_down")
# every node boundary, and inside ``act`` every write-ahead step of every kind of action
POINTS = [f"{when}:{node}" for node in NODES for when in ("before", "after")] + [
    f"act:{step}:{kind}" for kind in KINDS for step in ("after_plan", "after_issue", "after_write")]


def expect(point: str, fault: str) -> Cell:
    """What must happen for a crash at ``point`` with ``fault`` before the restart (the rules of write-ahead
    intent, spelt out per cell):

    * an action issued before the crash is never issued again: ``act:after_issue:K`` → K never reaches the plant;
    * an action issued but not yet recorded as accepted (``after_issue``, ``after_write``) is resolved by one
      read-back after the restart: at target → done ("confirmed after restart"), otherwise unconfirmed;
    * the feed write, accepted before the crash and read back only after the restart, fails its read-back when
      the operator put the value back (the run goes to ``attention``) — unless it was read back before the crash;
    * nothing issued before the crash (every boundary before ``act``, or ``after_plan`` of the write): the run
      simply goes on, whatever the fault.
    """
    order = {k: i for i, k in enumerate(KINDS)}
    writes = 0 if point == "act:after_issue:write" else 1
    calls = 0 if point == "act:after_issue:method" else 1
    in_act = point.startswith("act:")
    step, kind = (point.split(":")[1], point.split(":")[2]) if in_act else ("", "")
    node = "" if in_act else point.split(":")[1]
    verified_before = node in ("verify", "report") and point != "before:verify"
    write_sent = (in_act and (order[kind] > 0 or step == "after_write")) or (
        node in ("act", "verify", "report") and point != "before:act")
    write_after_restart = in_act and kind == "write" and step in ("after_issue", "after_write")
    if point == "act:after_issue:write":
        write_status = "unconfirmed"
    elif point == "act:after_write:write":
        write_status = "unconfirmed" if fault == "operator" else "done"
    elif write_sent and not verified_before and fault == "operator":
        write_status = "failed"
    else:
        write_status = "done"
    method_after_restart = in_act and kind == "method" and step in ("after_issue", "after_write")
    return Cell(point, fault, writes, calls, write_status, write_after_restart, method_after_restart,
                "done" if write_status == "done" else "attention")


CELLS = [expect(point, fault) for point in POINTS for fault in FAULTS]


@dataclass
class Observed:
    writes: int
    calls: int
    notes: int
    status: str
    readbacks: dict[str, dict[str, Any]] = field(default_factory=dict)
    issued: dict[str, int] = field(default_factory=dict)
    ledger_ok: bool = False
    refused_restart: str = ""
    plant_back_to_confirmed_s: float | None = None




def env(home: Path, crash_at: str | None = None) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("FACTORYPILOT_")}
    out.update({"FACTORYPILOT_HOME": str(home), "FACTORYPILOT_ALLOW_MODEL_REQUESTS": "false", "COLUMNS": "160"})
    if crash_at:
        out["FACTORYPILOT_TEST_CRASH_AT"] = crash_at
    return out


def setup(root: Path, plant: PlantHandle) -> tuple[str, Path, Path]:
    """The pilot spec (write + method + note), bindings for this plant, and an empty home."""
    spec_dir = root / "pilot"
    shutil.copytree(reference_pilots()["mobility"].parent, spec_dir)
    spec_file = spec_dir / "pilot.yaml"
    spec = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
    spec["roles"]["alarm_active"] = {"description": {"en": "Line alarm", "ko": "알람"}, "data_type": "boolean",
                                     "required": False}
    spec["roles"]["reset_alarm"] = {"kind": "method", "required": False, "aliases": ["ResetAlarm"],
                                    "description": {"en": "Reset the line alarm", "ko": "알람 리셋"}}
    spec["policy"]["methods"] = [{"target": "reset_alarm", "approval": "never", "max_calls": 5}]
    spec_file.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    books_file = spec_dir / "playbooks.yaml"
    books = yaml.safe_load(books_file.read_text(encoding="utf-8"))
    books["playbooks"][0]["actions"].insert(1, {"call": "reset_alarm", "expect": {"alarm_active": False},
                                                "reason": {"en": "Reset the line alarm", "ko": "알람 리셋"}})
    books_file.write_text(yaml.safe_dump(books, allow_unicode=True), encoding="utf-8")
    bindings = root / "bindings.yaml"
    roles = {r: t for r, t in plant.roles().items() if r in spec["roles"]}  # unknown roles are an error
    roles["reset_alarm"] = plant.method_ids()["ResetAlarm"]
    bindings.write_text(yaml.safe_dump(roles, allow_unicode=True), encoding="utf-8")
    return str(spec_file), bindings, root / "home"


def args(cmd: str, spec: str, plant: PlantHandle, bindings: Path) -> list[str]:
    return [*PILOT, "pilot", cmd, spec, "--endpoint", plant.endpoint, "--bindings", str(bindings), "--no-knowledge"]


def agent_writes(plant: PlantHandle) -> list[object]:
    return [v for _, role, v in plant.write_log if role == "feed_override" and v == TARGET]


def calls(plant: PlantHandle) -> int:
    return sum(1 for _, name, _ in plant.method_log if name == "ResetAlarm")


async def _operator_write(endpoint: str, node_id: str, value: float) -> None:
    """An operator at the HMI: a plain OPC UA client write, outside factorypilot."""
    client = Client(endpoint)
    async with client:
        await client.get_node(node_id).write_value(ua.Variant(value, ua.VariantType.Double))


def _rows(home: Path, sql: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(home / "agent.sqlite")
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def excite(plant: PlantHandle) -> None:
    """A steady excitation (vibration ~5 mm/s: above the 3.2 warning, far below the 11 mm/s alarm), so a slow
    machine cannot drift the plant into an alarm that would change the method's read-back."""
    plant.inject(Fault(FaultKind.SPIKE, "spindle_vibration", start_tick=plant.tick_index + 5, magnitude=3.0,
                       duration_ticks=1_000_000))


Runner = Callable[[list[str], dict[str, str], float], "subprocess.CompletedProcess[str]"]


def spawn(argv: list[str], environ: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter per command (the benchmark's way; the test uses the fork server in ``_zygote``)."""
    return subprocess.run(argv, env=environ, capture_output=True, text=True, timeout=timeout)


def run_cell(cell: Cell, root: Path, plant: PlantHandle, run: Runner = spawn) -> Observed:
    spec, bindings, home = setup(root, plant)
    excite(plant)
    crashed = run([*args("run", spec, plant, bindings), "--max-runs", "1", "--seconds", "60"],
                  env(home, cell.point), 120)
    if crashed.returncode != -signal.SIGKILL:
        raise AssertionError(f"the pilot was not killed at {cell.point}: {crashed.stdout}{crashed.stderr}")
    refused = ""
    back_at: float | None = None
    if cell.fault == "operator":
        asyncio.run(_operator_write(plant.endpoint, plant.node_id("feed_override"), OPERATOR))
    elif cell.fault == "plant_down":
        plant.stop()
        down = run(args("resume", spec, plant, bindings), env(home), 120)
        if down.returncode == 0:
            raise AssertionError(f"resume with the plant down succeeded: {down.stdout}")
        refused = down.stderr.strip()
        plant.start()
        back_at = time.perf_counter()
    resumed = run(args("resume", spec, plant, bindings), env(home), 120)
    if resumed.returncode != 0:
        raise AssertionError(f"resume failed: {resumed.stdout}{resumed.stderr}")
    confirmed_s = time.perf_counter() - back_at if back_at is not None else None
    with Ledger(home / "ledger.sqlite", readonly=True) as led:
        ok = led.verify().ok
        readbacks = {str(r.payload["target"]): r.payload for r in led.records(kind="read-back")}
        issued: dict[str, int] = {}
        for r in led.records(kind="intent"):
            if r.payload.get("status") == "issued":
                issued[str(r.payload["target"])] = issued.get(str(r.payload["target"]), 0) + 1
    statuses = [s for (s,) in _rows(home, "SELECT status FROM runs")]
    notes = _rows(home, "SELECT count(*) FROM notes")[0][0]
    return Observed(writes=len(agent_writes(plant)), calls=calls(plant), notes=int(notes),
                    status=statuses[0] if len(statuses) == 1 else f"{len(statuses)} runs: {statuses}",
                    readbacks=readbacks, issued=issued, ledger_ok=ok, refused_restart=refused,
                    plant_back_to_confirmed_s=confirmed_s)


def check(cell: Cell, seen: Observed, plant: PlantHandle) -> list[str]:
    """What differs from the cell's expectation (empty: the cell passed)."""
    feed, method = plant.node_id("feed_override"), plant.method_ids()["ResetAlarm"]
    problems = []
    if seen.writes != cell.writes:
        problems.append(f"{seen.writes} writes of {TARGET} on the plant, expected {cell.writes}")
    if seen.calls != cell.calls:
        problems.append(f"{seen.calls} ResetAlarm calls on the plant, expected {cell.calls}")
    if seen.notes != 1:
        problems.append(f"{seen.notes} maintenance notes, expected 1")
    if not seen.ledger_ok:
        problems.append("ledger does not verify")
    if any(n != 1 for n in seen.issued.values()) or set(seen.issued) != {feed, method, "maintenance"}:
        problems.append(f"issued records per action {seen.issued}, expected exactly one each")
    fb = seen.readbacks.get(feed, {})
    if (fb.get("status"), fb.get("after_restart")) != (cell.write_status, cell.write_after_restart):
        problems.append(f"feed read-back {fb.get('status')}/{fb.get('reason')}, expected {cell.write_status}")
    if cell.write_after_restart and cell.write_status == "done" and not str(fb.get("reason")).startswith(
            "confirmed after restart"):
        problems.append("the ledger does not say 'confirmed after restart'")
    mb = seen.readbacks.get(method, {})
    if (mb.get("status"), bool(mb.get("after_restart"))) != ("done", cell.method_after_restart):
        problems.append(f"method read-back {mb.get('status')}/{mb.get('reason')}, expected done "
                        f"({'after' if cell.method_after_restart else 'before'} the restart)")
    if seen.status != cell.status:
        problems.append(f"run status {seen.status}, expected {cell.status}")
    if cell.fault == "plant_down" and (len(seen.refused_restart.splitlines()) != 1
                                       or "cannot reach" not in seen.refused_restart):
        problems.append(f"plant down at restart was not one line: {seen.refused_restart!r}")
    return problems
