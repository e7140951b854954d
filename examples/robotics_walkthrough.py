"""Robotics walk-through: run the welding-cell pilot, read its report, change a playbook, re-evaluate.

Run:  python examples/robotics_walkthrough.py [output-dir]

1. evaluate the reference pilot on a collision fault (code 1203) and a joint-torque rise: recovery steps
   (ResetFault, MoveHome) are approved by a person and confirmed by reading the robot's state back;
2. read the report: gate verdict, recovery read-backs from the ledger, downtime against the no-agent baseline;
3. copy the pilot and drop the MoveHome step from its fault playbook;
4. re-evaluate: the fault is reset but the robot never gets its home reference back, so the cell stays stopped
   and the downtime gain disappears — the KPI delta shows why the manual's step matters.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import yaml

from factorypilot.agents import Ledger
from factorypilot.pilots.evaluation.harness import evaluate
from factorypilot.pilots.runtime import resolve_spec

SCENARIOS = ["collision-fault", "joint-torque-rise"]


def main(out: Path) -> None:
    report = evaluate("robotics", scenarios=SCENARIOS, home=out / "home", out=out / "reference", knowledge=False,
                      plots=False, lang="en")
    s = report.scenario("collision-fault")
    print(f"reference gate passed: {report.gate_passed}")
    print(f"collision-fault: playbook {s.playbook}, approvals {s.approvals_requested}, "
          f"downtime baseline {s.kpi_baseline['downtime']:g} s -> agent {s.kpi_agent['downtime']:g} s")
    with Ledger(report.out_dir / "runs" / "collision-fault" / "ledger.sqlite") as ledger:
        for r in ledger.records(kind="read-back"):
            print(f"  read-back {r.payload['target'].rsplit('.', 1)[-1]}: {r.payload['status']} "
                  f"({r.payload['reason']})")
    torque = report.scenario("joint-torque-rise")
    print(f"joint-torque-rise: writes {[(role, v) for _, role, v in torque.writes]} "
          f"(automatic, approvals {torque.approvals_requested})")

    _, spec_path = resolve_spec("robotics")
    mine = out / "my-robotics"
    shutil.copytree(spec_path.parent, mine, ignore=shutil.ignore_patterns("__pycache__", "mes"))
    data = yaml.safe_load((mine / "playbooks.yaml").read_text(encoding="utf-8"))
    fault = next(p for p in data["playbooks"] if p["id"] == "robot-fault")
    fault["actions"] = [a for a in fault["actions"] if a.get("call") != "move_home"]
    (mine / "playbooks.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    again = evaluate(mine / "pilot.yaml", scenarios=["collision-fault"], home=out / "home2", out=out / "changed",
                     knowledge=False, plots=False, lang="en")
    c = again.scenario("collision-fault")
    print(f"without MoveHome: downtime baseline {c.kpi_baseline['downtime']:g} s -> agent "
          f"{c.kpi_agent['downtime']:g} s (improvement {c.kpi_improvement['downtime']:g} s)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="fp-robotics-")))
