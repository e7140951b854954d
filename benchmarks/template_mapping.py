"""Mapping accuracy of ``template map`` vs a plain alias matcher, on both simulated plants.

Run:  python benchmarks/template_mapping.py [--quick]

For each plant (``mobility``: the lead's naming; ``mobility-kr``: a small firm's Korean PLC-style naming with
decoys; ``mobility-kr`` with 2 identical lines) the plant is served over OPC-UA, browsed and sampled, and the
mobility pilot's roles are mapped by

* **baseline**: the first tag whose browse/display name contains the role key or one of its aliases
  (normalised: lower case, no spaces/underscores) — what a person would do with a search box;
* **mapper**: ``propose_mapping`` (concepts, units, types, writability, values, hierarchy).

Columns: required roles right, wrong picks, wrong picks at high confidence (mapper only), time to propose.
The ratio is mapper accuracy / baseline accuracy, both measured in this run.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
import unicodedata

from rich.console import Console
from rich.table import Table

from factorypilot.connectors.registry import create
from factorypilot.pilots.mapping import propose_mapping, sample_plant
from factorypilot.pilots.runtime import resolve_spec
from factorypilot.pilots.simulator import PlantSimulator
from factorypilot.pilots.simulator._mobility_kr import TRUTH
from factorypilot.pilots.spec import PilotSpec
from factorypilot.vocabulary import Scalar, Tag

_PLAIN = re.compile(r"[^0-9a-z\uac00-\ud7a3]+")


def plain(text: str) -> str:
    return _PLAIN.sub("", unicodedata.normalize("NFKC", text).lower())


def baseline(spec: PilotSpec, tags: list[Tag]) -> dict[str, str]:
    out: dict[str, str] = {}
    for role, rs in spec.roles.items():
        keys = [plain(k) for k in [role, *rs.aliases] if plain(k)]
        for t in tags:
            names = [plain(n) for n in [t.name, *t.display_names.values()]]
            if any(k in n for k in keys for n in names):
                out[role] = t.id
                break
    return out


async def browse(model: str, scale: int, reads: int) -> tuple[list[Tag], dict[str, list[Scalar]]]:
    async with PlantSimulator(model, seed=3, realtime=True, scale=scale) as sim, \
            create("opcua", {"endpoint": sim.endpoint}) as conn:
        return await sample_plant(conn, reads=reads, interval_s=0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one read per tag, skip the twin-line plant")
    args = parser.parse_args()
    spec = resolve_spec("mobility")[0]
    required = [r for r, rs in spec.roles.items() if rs.required]
    plants = [("mobility", 1), ("mobility-kr", 1)] + ([] if args.quick else [("mobility-kr", 2)])
    table = Table(title="role mapping: mapper vs alias matcher (mobility pilot, required roles)")
    for col in ("plant", "tags", "baseline right", "baseline wrong", "mapper right", "mapper wrong",
                "wrong @ high", "asked (not high)", "propose ms", "ratio"):
        table.add_column(col, justify="right" if col not in ("plant",) else "left")
    for model, scale in plants:
        tags, values = asyncio.run(browse(model, scale, 1 if args.quick else 3))
        truth = {r: (TRUTH[r] if model == "mobility-kr" else r) for r in required}

        def right(tag_id: str | None, role: str, t: dict[str, str] = truth) -> bool:
            return tag_id is not None and tag_id.endswith("." + t[role]) and ".line-02" not in tag_id

        base = baseline(spec, tags)
        started = time.perf_counter()
        prop = propose_mapping(spec, tags, values)
        ms = (time.perf_counter() - started) * 1000
        b_ok = sum(right(base.get(r), r) for r in required)
        b_wrong = sum(1 for r in required if base.get(r) and not right(base.get(r), r))
        m_ok = sum(right(prop.roles[r].tag_id, r) for r in required)
        m_wrong = [r for r in required if prop.roles[r].tag_id and not right(prop.roles[r].tag_id, r)]
        high_wrong = sum(1 for r in m_wrong if prop.roles[r].confidence == "high")
        asked = sum(1 for r in required if prop.roles[r].confidence != "high")
        n = len(required)
        ratio = f"{(m_ok / b_ok):.1f}x" if b_ok else "∞"
        table.add_row(f"{model}{' ×2 lines' if scale > 1 else ''}", str(len(tags)), f"{b_ok}/{n}", str(b_wrong),
                      f"{m_ok}/{n}", str(len(m_wrong)), str(high_wrong), str(asked), f"{ms:.1f}", ratio)
    Console(width=150).print(table)


if __name__ == "__main__":
    main()
