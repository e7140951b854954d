"""ABB walk-through: run the traceability pilot, trace a lot, verify it, tamper with it, change a playbook.

Run:  python examples/abb_walkthrough.py [output-dir]

1. evaluate the reference pilot on the weld quality escape: the leak test (ST40) catches it, QA approves a
   higher weld current setpoint at ST30;
2. record six lots of the simulated line, link them to the MES lot table, rank the root-cause station and anchor
   every lot's history in the hash-chained ledger (what ``factorypilot trace --record`` does);
3. show a failed lot's history and verify it as a customer would (``factorypilot trace LOT --verify``);
4. tamper with the lot's summary in the database — verification now fails;
5. copy the pilot with a timid playbook (+4 A instead of +10 A) and re-evaluate: the leak keeps failing.
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

import yaml

from factorypilot.agents import Ledger
from factorypilot.pilots.abb.trace import lot_history, record_line
from factorypilot.pilots.evaluation.harness import evaluate
from factorypilot.pilots.runtime import resolve_spec


def main(out: Path) -> None:
    report = evaluate("abb", scenarios=["weld-quality-escape"], home=out / "home", out=out / "reference",
                      knowledge=False, plots=False, lang="en")
    s = report.scenario("weld-quality-escape")
    print(f"reference gate passed: {report.gate_passed}; writes {[(role, v) for _, role, v in s.writes]}; "
          f"scrap rate baseline {s.kpi_baseline['scrap_rate']:g} -> agent {s.kpi_agent['scrap_rate']:g}")

    run = record_line(out / "trace", lots=6, seed=3)
    for lot in run.lots:
        print(f"  {lot.lot} {lot.work_order} good {lot.good} scrap {lot.scrap} MES match {lot.mes['counts_match']}")
    top = run.findings[0]
    print(f"root cause: {top.station} ({top.role} good lots {top.good_mean:g} vs failed lots {top.failed_mean:g})")
    failed = next(lot.lot for lot in run.lots if lot.failed)
    with Ledger(run.ledger_path) as ledger:
        hist = lot_history(ledger, failed)
        for r in hist.records:
            print(f"  #{r.seq} {r.payload['station']} {r.hash[:16]}")
        summary_seq = next(r.seq for r in hist.records if r.payload["station"] == "summary")
    print(f"{failed} verifies: {hist.ok}")
    db = sqlite3.connect(run.ledger_path)
    db.execute("UPDATE ledger SET payload = replace(payload, '\"fail\"', '\"pass\"') WHERE seq = ?", (summary_seq,))
    db.commit()
    db.close()
    with Ledger(run.ledger_path) as ledger:
        tampered = lot_history(ledger, failed)
    print(f"after tampering {failed} verifies: {tampered.ok} ({tampered.problems[0]})")

    _, spec_path = resolve_spec("abb")
    mine = out / "my-abb"
    shutil.copytree(spec_path.parent, mine, ignore=shutil.ignore_patterns("__pycache__", "mes"))
    data = yaml.safe_load((mine / "playbooks.yaml").read_text(encoding="utf-8"))
    data["playbooks"][0]["actions"][0]["delta"] = 4
    (mine / "playbooks.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    again = evaluate(mine / "pilot.yaml", scenarios=["weld-quality-escape"], home=out / "home2", out=out / "changed",
                     knowledge=False, plots=False, lang="en")
    c = again.scenario("weld-quality-escape")
    print(f"timid playbook (+4 A): gate passed {again.gate_passed}; writes {[v for _, _, v in c.writes]}; "
          f"scrap rate {c.kpi_agent['scrap_rate']:g}; problems {c.problems}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="fp-abb-")))
