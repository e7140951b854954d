"""Firm-to-template matching accuracy: the new goal-first ranking vs two baselines, same run, same profiles.

Run:  python benchmarks/matching.py

Profiles and answer key: ``tests/pilots/spreading/firm_profiles/`` (27 profiles written as growth supporters write them;
``dev/`` used while building the ranking, ``heldout/`` only measured; 11 traps where the sector hint and the
equipment point one way and the goals/constraints another). Catalog: the four reference pilots.

Methods (``benchmarks/_match_baselines.py``):

* **keyword** — the scorer shipped before issue 16 (sector keyword 0.4, KPI ids 0.3, equipment nouns 0.2, data 0.1);
* **naive embedding** — the whole profile as one text against each template's title + description;
* **goal-first** — ``factorypilot.pilots.spreading.matching.match_templates``.

Columns: top-1 and top-2 (the answer key's best template first / among the first two), traps right at top-1,
seconds per profile. A ratio column gives goal-first top-1 / baseline top-1.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import yaml
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _match_baselines import keyword_rank, naive_embedding_rank

from factorypilot.pilots.spreading._text import _Shared
from factorypilot.pilots.spreading.catalog import Catalog
from factorypilot.pilots.spreading.matching import load_profile, match_templates

ROOT = Path(__file__).resolve().parents[1] / "tests" / "pilots" / "spreading" / "firm_profiles"


def main() -> None:
    answers = yaml.safe_load((ROOT / "answers.yaml").read_text(encoding="utf-8"))
    catalog = Catalog.discover(reference=True, use_entry_points=False)
    entries = catalog.list()
    embedder, _ = _Shared.get()
    methods = {
        "keyword": lambda p: keyword_rank(p, entries),
        "naive embedding": lambda p: naive_embedding_rank(p, entries, embedder),
        "goal-first": lambda p: [m.entry.id for m in match_templates(p, catalog)],
    }
    table = Table(title="firm-to-template matching (top-1 / top-2 / traps at top-1)")
    for col in ("split", "method", "top-1", "top-2", "traps", "s/profile", "goal-first top-1 ÷ this"):
        table.add_column(col)
    misses: list[str] = []
    for split in ("dev", "heldout"):
        key = answers[split]
        profiles = [load_profile(ROOT / split / f"{pid}.yaml")[0] for pid in key]
        results: dict[str, tuple[int, int, int, int, float]] = {}
        for name, fn in methods.items():
            fn(profiles[0])  # warm caches (model, statements) outside the timing
            t0 = time.perf_counter()
            top1 = top2 = traps = n_traps = 0
            for p in profiles:
                a = key[p.id]
                ids = fn(p)
                top1 += ids[0] == a["best"]
                top2 += a["best"] in ids[:2]
                if a["trap"]:
                    n_traps += 1
                    traps += ids[0] == a["best"]
                if name == "goal-first" and ids[0] != a["best"]:
                    misses.append(f"{split}/{p.id}: expected {a['best']}, got {ids[0]}")
            results[name] = (top1, top2, traps, n_traps, (time.perf_counter() - t0) / len(profiles))
        n = len(profiles)
        ours = results["goal-first"][0]
        for name, (top1, top2, traps, n_traps, secs) in results.items():
            ratio = "-" if name == "goal-first" else (f"{ours / top1:.2f}x" if top1 else "inf")
            table.add_row(split, name, f"{top1}/{n}", f"{top2}/{n}", f"{traps}/{n_traps}", f"{secs:.2f}", ratio)
    console = Console()
    console.print(table)
    for m in misses:
        console.print(f"goal-first miss: {m}")


if __name__ == "__main__":
    main()
