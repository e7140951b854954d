"""Small firm quick start: from a catalog template to a running read-only pilot in 3 commands.

Run:  python examples/small_firm_quickstart.py [work-dir]

The "firm" is the ``mobility-kr`` simulated plant: Korean PLC-style tag names (SPDL_VIB / 스핀들 진동값,
F_OVR / 이송 오버라이드 ...), its own ISA-95 hierarchy and unit notation (㎜/s, ℃, 퍼센트) — nothing the
template was written against. The lead firm's ``mobility-cnc`` pilot is exported into the catalog first.
Then the firm runs exactly these commands (as subprocesses, the way a person types them):

1. ``factorypilot template init mobility-cnc --company 성서정밀 --endpoint opc.tcp://...``
2. ``factorypilot template map --project DIR``   (prompts only for uncertain roles — none on this plant, every
   role is proposed high; a "1" is ready on stdin in case one is asked; ends with the live read-only check)
3. ``factorypilot template run --project DIR --max-runs 1``   (read-only: a vibration drift is detected,
   the feed write is refused, the maintenance note is kept)

and the script prints the number of commands and the wall time from template to a running pilot.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from factorypilot.pilots.simulator import Fault, FaultKind, running_plant
from factorypilot.pilots.spreading.templates import Project, export_template

EXE = [str(Path(sys.executable).with_name("factorypilot"))]  # the console script installed beside python


def factorypilot(*args: str, env: dict[str, str], stdin: str | None = None) -> str:
    result = subprocess.run([*EXE, *args], input=stdin, capture_output=True, text=True, encoding="utf-8", env=env,
                            timeout=300, check=False)
    if result.returncode != 0:
        raise SystemExit(f"factorypilot {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def main(work: Path) -> dict[str, float]:
    home = work / "fp-home"
    env = dict(os.environ, FACTORYPILOT_HOME=str(home), COLUMNS="140")
    # the lead firm's side (once): export the pilot into the catalog. Here the gate is overridden because
    # this example does not run the evaluation; the override is recorded in the lead's ledger.
    export_template("mobility", home / "templates", home=home, override_reason="quick-start example", by="lead")
    project = work / "성서정밀"
    with running_plant(model="mobility-kr", seed=4, realtime=True) as plant:
        print(f"firm's plant (mobility-kr) at {plant.endpoint}")
        started = time.perf_counter()
        out = factorypilot("template", "init", "mobility-cnc", "--company", "성서정밀", "--endpoint", plant.endpoint,
                           "--dir", str(project), env=env)
        print("$ factorypilot template init ...\n" + out)
        out = factorypilot("template", "map", "--project", str(project), env=env, stdin="1\n")
        print("$ factorypilot template map ...\n" + out)
        spec = Project.open(project).spec()
        print(f"bindings: { {r: t.rsplit('.', 1)[-1] for r, t in spec.bindings.items()} }")
        print(f"writes enabled: {spec.policy.writes_enabled}")
        plant.inject(Fault(FaultKind.DRIFT, "spdl_vib", start_tick=plant.tick_index + 5, magnitude=0.08))
        out = factorypilot("template", "run", "--project", str(project), "--max-runs", "1", "--lang", "ko",
                           "--no-knowledge", env=env)
        elapsed = time.perf_counter() - started
        print("$ factorypilot template run ...\n" + out)
        print(f"writes the plant accepted: {plant.write_log}")
    print(f"small firm: 3 commands, {elapsed:.1f} s from template to a running read-only pilot")
    return {"commands": 3, "seconds": elapsed}


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
