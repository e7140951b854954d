"""Healthcare walk-through: run the cleanroom pilot, read its report, change a playbook, re-evaluate.

Run:  python examples/healthcare_walkthrough.py [output-dir]

1. evaluate the reference pilot on its particle-excursion scenario against the simulated
   ISO 7 cleanroom — every action needs a person's approval (the harness approves as ``eval-harness``);
2. read the report: the gate verdict, the fan change, the GMP audit trail in the run's ledger, the run as a GMP
   deviation report (Korean), and the deviations in the MES batch-record export;
3. copy the pilot and make its playbook greedier (fan +25 points instead of +15);
4. re-evaluate: the safety policy (max step 20 points) refuses the change, so the gate fails — the envelope is
   enforced outside the playbook.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import yaml

from factorypilot.agents import Ledger
from factorypilot.pilots.evaluation.harness import evaluate
from factorypilot.pilots.healthcare.gmp import batch_deviations, deviation_report
from factorypilot.pilots.runtime import resolve_spec

SCENARIOS = ["particle-excursion"]


def main(out: Path) -> None:
    report = evaluate("healthcare", scenarios=SCENARIOS, home=out / "home", out=out / "reference", knowledge=False,
                      plots=False, lang="en")
    s = report.scenario("particle-excursion")
    print(f"reference gate passed: {report.gate_passed}")
    print(f"particle-excursion: detected after {s.time_to_detect_s:g} s, playbook {s.playbook}, "
          f"writes {[(role, v) for _, role, v in s.writes]}, approvals {s.approvals_requested}")
    print(f"downtime: baseline {s.kpi_baseline['downtime']:g} s -> agent {s.kpi_agent['downtime']:g} s")
    with Ledger(report.out_dir / "runs" / "particle-excursion" / "ledger.sqlite") as ledger:
        print("audit trail:", " -> ".join(r.kind for r in ledger.records()), "| chain ok:", ledger.verify().ok)
        run_id = ledger.records(kind="report")[0].run_id
        gmp = deviation_report(ledger, run_id, lang="ko")
    (out / "deviation.ko.md").write_text(gmp, encoding="utf-8")
    print("GMP deviation report (excerpt):")
    print("\n".join(line for line in gmp.splitlines() if line.startswith(("# ", "- 결정", "- write", "- note"))))
    print(f"report: {report.files['markdown']}")
    _, spec_path = resolve_spec("healthcare")
    for ev in batch_deviations(spec_path.parent / "mes" / "healthcare-batch-record.csv"):
        print(f"batch-record deviation: {ev.message}")

    mine = out / "my-healthcare"
    shutil.copytree(spec_path.parent, mine, ignore=shutil.ignore_patterns("__pycache__", "mes"))
    playbooks = yaml.safe_load((mine / "playbooks.yaml").read_text(encoding="utf-8"))
    playbooks["playbooks"][0]["actions"][0]["delta"] = 25
    (mine / "playbooks.yaml").write_text(yaml.safe_dump(playbooks, allow_unicode=True, sort_keys=False),
                                         encoding="utf-8")
    again = evaluate(mine / "pilot.yaml", scenarios=SCENARIOS, home=out / "home2", out=out / "changed",
                     knowledge=False, plots=False, lang="en")
    changed = again.scenario("particle-excursion")
    print(f"changed playbook (fan +25): gate passed: {again.gate_passed}; writes {changed.writes}; "
          f"problems {changed.problems}")
    print(f"gate failures: {again.gate_failures}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="fp-healthcare-")))
