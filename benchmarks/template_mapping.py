"""``template map`` on the foreign plants: per template × plant right / wrong / wrong-high / asked / absent (and
per-plant totals), and the wall time of the small-firm flow from ``template init`` to the first handled event.

Run:  python benchmarks/template_mapping.py [--no-flow]

Plants (``tests/pilots/spreading/plants``, each with an answer key written before the mapper was tuned): A and D on
node-opcua (skipped when node/node-opcua is missing), B, E and F on asyncua, C on asyncua — **held out** (reported
separately). "wrong" counts the asked roles whose first proposal was wrong, plus the wrong-highs.
Each template is mapped twice: as the firm first runs it (no machine named) and with the answer key's machine
(the firm's answer to "which machine?"). Outcomes (see ``factorypilot.pilots.spreading._accuracy``):

* right — taken unasked (``high``) and correct;  wrong-high — taken unasked and wrong (must be 0);
* absent — the key says the plant has no such signal and the mapper proposed none;
* asked — put to a person (medium/low/none); "first right" counts those whose first proposal was right.

Baseline in the same run: the first tag whose name contains the role key or an alias, taken unasked (what a
search box gives). Its wrong picks are all "wrong-high" because it has no notion of confidence.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from factorypilot.connectors.registry import create
from factorypilot.pilots.runtime import resolve_spec
from factorypilot.pilots.spec import PilotSpec
from factorypilot.pilots.spreading._accuracy import load_key, score_proposal
from factorypilot.pilots.spreading._plants import node_modules, serving_node_plant, serving_plant
from factorypilot.pilots.spreading.mapping import PlantFacts, propose_mapping, sample_plant
from factorypilot.vocabulary import Tag

PLANTS = Path(__file__).resolve().parents[1] / "tests" / "pilots" / "spreading" / "plants"
_COUNTS = ("right", "wrong", "wrong_high", "asked", "absent")
_PLAIN = re.compile(r"[^0-9a-z\uac00-\ud7a3]+")


def _plain(text: str) -> str:
    return _PLAIN.sub("", unicodedata.normalize("NFKC", text).lower())


def baseline(spec: PilotSpec, tags: list[Tag]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for role, rs in spec.roles.items():
        keys = [k for k in (_plain(role), *(_plain(a) for a in rs.aliases)) if k]
        hit = next((t for t in tags for k in keys
                    if any(k in _plain(n) for n in (t.name, *t.display_names.values()))), None)
        out[role] = hit.id.split(";", 1)[1] if hit else None
    return out


def browse(name: str, stack: str) -> tuple[list[Tag], dict[str, Any], PlantFacts] | None:
    if stack == "node-opcua":
        if shutil.which("node") is None or node_modules() is None:
            return None
        cm: Any = serving_node_plant(PLANTS / f"{name}.json", PLANTS / "nodeopcua_plant.js")
    else:
        cm = serving_plant(PLANTS / f"{name}.json")

    async def go(endpoint: str) -> tuple[list[Tag], dict[str, Any], PlantFacts]:
        async with create("opcua", {"endpoint": endpoint}) as conn:
            tags, values = await sample_plant(conn, reads=3, interval_s=0.15)
            return tags, values, PlantFacts.of(conn)

    with cm as plant:
        return asyncio.run(go(plant.endpoint))


def accuracy(console: Console) -> None:
    for held_out in (False, True):
        table = Table(title="held-out plant" if held_out else "dev plants", title_justify="left")
        for col in ("plant", "template", "machine", "roles", "right", "wrong", "wrong-high", "absent", "asked",
                    "first right", "baseline right", "baseline wrong"):
            table.add_column(col)
        totals = {"right": 0, "wrong": 0, "wrong_high": 0, "asked": 0, "absent": 0, "base_right": 0, "base_wrong": 0}
        per_plant: dict[str, dict[str, int]] = {}
        for key_file in sorted(PLANTS.glob("*.answers.yaml")):
            key = load_key(key_file)
            if bool(key.get("held_out")) != held_out:
                continue
            browsed = browse(key["plant"], key["stack"])
            if browsed is None:
                console.print(f"[yellow]skipped {key['plant']}: node/node-opcua not installed[/]")
                continue
            tags, values, facts = browsed
            for tpl, tk in key["templates"].items():
                spec = resolve_spec(tpl)[0]
                base = baseline(spec, tags)
                b_right = sum(1 for r, t in tk["roles"].items() if t is not None and base.get(r) == t)
                b_wrong = sum(1 for r, t in tk["roles"].items() if base.get(r) is not None and base.get(r) != t)
                for eq in dict.fromkeys((None, tk["equipment"])):
                    sc = score_proposal(propose_mapping(spec, tags, values, equipment=eq, facts=facts), tk["roles"])
                    table.add_row(key["plant"], tpl, eq or "(not named)", str(sc["total"]), str(sc["right"]),
                                  str(sc["wrong"]), str(sc["wrong_high"]), str(sc["absent"]), str(sc["asked"]),
                                  str(sc["asked_right"]), str(b_right), str(b_wrong))
                    if eq == tk["equipment"]:
                        mine = per_plant.setdefault(key["plant"], dict.fromkeys(_COUNTS, 0))
                        for k in _COUNTS:
                            totals[k] += sc[k]
                            mine[k] += sc[k]
                totals["base_right"] += b_right
                totals["base_wrong"] += b_wrong
        console.print(table)
        for plant, c in per_plant.items():
            console.print(f"{plant} (machine named): " + ", ".join(f"{k.replace('_', '-')} {c[k]}" for k in _COUNTS))
        console.print(f"with the machine named: right {totals['right']}, wrong {totals['wrong']}, "
                      f"wrong-high {totals['wrong_high']}, "
                      f"asked {totals['asked']}, absent {totals['absent']}; baseline right {totals['base_right']}, "
                      f"baseline wrong (taken unasked) {totals['base_wrong']}")


def flow(console: Console) -> None:
    """init → map (answers with absent roles) → run read-only until the first handled event, on plant B."""
    from typer.testing import CliRunner

    from factorypilot.cli._app import app
    from factorypilot.cli._commands import register
    from factorypilot.pilots.spreading.templates import export_template

    register(app)
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as tmp, serving_plant(PLANTS / "plant_b_medical.json") as plant:
        home = Path(tmp) / "home"
        os.environ["FACTORYPILOT_HOME"] = str(home)
        export_template("robotics", home / "templates", home=home, override_reason="benchmark", by="bench")
        answers = Path(tmp) / "answers.yaml"
        answers.write_text("joint2_torque: null\njoint2_temperature: null\nmove_home: null\ncell_door_open: null\n"
                           "acknowledge: [cell_door_open]\n", encoding="utf-8")
        project = Path(tmp) / "firm"
        plant.set("s=MTK.PKG.PNP01.ERR", 1203)
        started = time.perf_counter()
        for args in (["template", "init", "robotics-weld-cell", "--company", "firm", "--endpoint", plant.endpoint,
                      "--dir", str(project)],
                     ["template", "map", "--project", str(project), "--answers", str(answers)],
                     ["template", "run", "--project", str(project), "--max-runs", "1", "--seconds", "60",
                      "--no-knowledge"]):
            result = runner.invoke(app, args)
            if result.exit_code != 0:
                raise SystemExit(f"{args[1]} failed: {result.output}")
        console.print(f"small-firm flow on plant B: 3 commands, {time.perf_counter() - started:.1f} s from "
                      "template init to the first handled event")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-flow", action="store_true", help="skip the init → run timing")
    args = parser.parse_args()
    console = Console(width=170)
    t0 = time.perf_counter()
    accuracy(console)
    console.print(f"accuracy tables in {time.perf_counter() - t0:.1f} s")
    if not args.no_flow:
        flow(console)


if __name__ == "__main__":
    main()
