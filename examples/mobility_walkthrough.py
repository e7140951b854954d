"""Mobility walk-through: evaluate the pilot, read its report, change a playbook, re-evaluate.

Run:  python examples/mobility_walkthrough.py [output-dir]

1. evaluate the mobility reference pilot on its spindle-vibration drift scenario:
   the simulator runs tick by tick, the pilot acts over OPC UA, a no-agent baseline runs the same plant;
2. read the JSON report: detection, time to detect, the writes that reached the plant, KPI change vs baseline;
3. copy the pilot and make its playbook lower the feed by 30 points instead of 15 — the safety policy allows at
   most 20 per step, so the guard refuses the write: nothing unsafe reaches the plant, but the gate fails;
4. change it to 20 points and re-evaluate: the gate passes again, with a Korean report this time.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

from factorypilot.pilots.evaluation.harness import EvalReport, evaluate
from factorypilot.pilots.runtime import reference_pilots

SCENARIOS = ["vibration-drift"]


def show(title: str, report: EvalReport) -> None:
    print(f"== {title}: gate {'PASSED' if report.gate_passed else 'FAILED'} {report.gate_failures}")
    for s in report.scores:
        writes = ", ".join(f"{role}={value:g} at tick {tick}" for tick, role, value in s.writes) or "none"
        ttd = f"{s.time_to_detect_s} s" if s.time_to_detect_s is not None else "-"
        print(f"  {s.id}: detected={s.detected} time-to-detect={ttd} writes: {writes} "
              f"safety_violations={len(s.safety_violations)} passed={s.passed}")


def set_feed_delta(pilot_dir: Path, delta: float) -> None:
    path = pilot_dir / "playbooks.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for action in data["playbooks"][0]["actions"]:
        if action.get("write") == "feed_override":
            action["delta"] = delta
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def main(out: Path) -> dict[str, bool]:
    home = out / "home"
    # 1. evaluate the reference pilot
    first = evaluate("mobility", scenarios=SCENARIOS, home=home, knowledge=False, plots=False, out=out / "1-reference")
    show("reference pilot", first)
    # 2. read its report
    data = json.loads(first.files["json"].read_text(encoding="utf-8"))
    drift = next(s for s in data["scenarios"] if s["id"] == "vibration-drift")
    print(f"report: {first.files['markdown']}")
    print(f"  vibration-drift downtime: agent {drift['kpi_agent']['downtime']} s, "
          f"baseline {drift['kpi_baseline']['downtime']} s; scrap rate: agent {drift['kpi_agent']['scrap_rate']}, "
          f"baseline {drift['kpi_baseline']['scrap_rate']}")
    # 3. copy the pilot (a lead firm's own variant) and make the playbook too aggressive
    mine = out / "my-mobility"
    shutil.copytree(reference_pilots()["mobility"].parent, mine, dirs_exist_ok=True)
    set_feed_delta(mine, -30)
    aggressive = evaluate(mine, scenarios=SCENARIOS, home=home, knowledge=False, plots=False, out=out / "2-minus-30")
    show("feed -30 per step", aggressive)
    print(f"  why: {aggressive.scenario('vibration-drift').problems}")
    # 4. within the policy again
    set_feed_delta(mine, -20)
    fixed = evaluate(mine, scenarios=SCENARIOS, home=home, knowledge=False, out=out / "3-minus-20", lang="ko")
    show("feed -20 per step", fixed)
    print(f"Korean report: {fixed.files['markdown']}")
    return {"reference": first.gate_passed, "aggressive": aggressive.gate_passed, "fixed": fixed.gate_passed}


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="fp-walkthrough-"))
    print(main(target))
