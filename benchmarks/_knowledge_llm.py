"""The two-company set with the optional local model (``--llm-base-url``): rows "hybrid + translate",
"hybrid + judge", "hybrid + both" against plain hybrid, by split, measured in the same run.

One assist object serves the three rows, so its per-process cache is shared: the "both" row reuses the
translations of the "translate" row and the judge verdicts on unchanged passages of the "judge" row. Each row
prints the seconds per question it took in this run and the model calls it made; the cost of "both" on its own is
the translation seconds plus the judge seconds (printed in the cost table).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _knowledge_sets as sets
from rich.console import Console
from rich.table import Table

ROWS = (("hybrid (no model)", None), ("hybrid + translate", (False, True)), ("hybrid + judge", (True, False)),
        ("hybrid + both", (True, True)))


class _Timed:
    """Wraps a ChatFn: counts calls and seconds by kind (judge / translator). With ``replies`` (a JSON file), every
    reply is kept there by its exact prompt and replayed in a later run (a weight sweep on dev without asking the
    model again); replayed calls are counted apart and not timed."""

    def __init__(self, chat: Any, replies: Path | None = None) -> None:
        self.chat = chat
        self.calls: dict[str, list[float]] = {"judge": [], "translate": []}
        self.replayed = 0
        self.path = replies
        self.replies: dict[str, str] = (json.loads(replies.read_text(encoding="utf-8"))
                                        if replies is not None and replies.exists() else {})

    def __call__(self, system: str, user: str, schema: dict[str, Any]) -> str:
        kind = "judge" if "answered" in schema.get("properties", {}) else "translate"
        key = hashlib.sha256(json.dumps([system, user, schema], sort_keys=True).encode()).hexdigest()
        if key in self.replies:
            self.replayed += 1
            return self.replies[key]
        t = time.perf_counter()
        try:
            reply = str(self.chat(system, user, schema))
        finally:
            self.calls[kind].append(time.perf_counter() - t)
        if self.path is not None:
            self.replies[key] = reply
            self.path.write_text(json.dumps(self.replies, ensure_ascii=False), encoding="utf-8")
        return reply


def _server_model(base_url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(base_url.rstrip("/") + "/models", timeout=30) as r:
        return str(json.load(r)["data"][0]["id"])


def run(console: Console, home: Path, key: list[dict[str, Any]], *, base_url: str, model: str | None,
        split: str, timeout_s: float, log: Path | None, replies: Path | None = None,
        overrides: dict[str, Any] | None = None, rows: Sequence[str] = ()) -> None:
    from factorypilot.agents.knowledge_llm import knowledge_assist
    from factorypilot.knowledge import KnowledgeConfig, KnowledgeStore

    qs = [q for q in key if split == "all" or q["split"] == split]
    assist = knowledge_assist({"provider": "openai", "base_url": base_url, "model": model or _server_model(base_url),
                               "timeout_s": timeout_s, "max_retries": 0})
    cfg = KnowledgeConfig(**(overrides or {}))
    timed = _Timed(assist.chat, replies)
    assist.chat = timed
    results: dict[str, dict[str, Any]] = {}
    records: list[dict[str, Any]] = []
    for name, parts in ROWS:
        if parts is not None and rows and name.removeprefix("hybrid + ") not in rows:
            continue
        if parts is not None:
            assist.judge, assist.translate = parts
        before = {k: len(v) for k, v in timed.calls.items()}
        answers: list[Any] = []

        def ask(company: str, cq: list[dict[str, Any]], parts: Any = parts) -> list[Any]:
            with KnowledgeStore.open(company, home=home, config=cfg, assist=assist if parts else None) as store:
                return [store.ask(q["q"]) for q in cq]

        t = time.perf_counter()
        answers = sets.per_company(qs, ask)
        wall = time.perf_counter() - t
        calls = {k: timed.calls[k][before[k]:] for k in timed.calls}
        ranked = [[(h.citation.file, h.context) for h in a.hits] for a in answers]
        refused = [not a.answerable for a in answers]
        results[name] = {"score": sets.score(qs, ranked), "abst": sets.abstention(qs, refused),
                         "wall": wall / max(1, len(qs)), "calls": calls,
                         "judge_failed": sum(1 for a in answers if a.llm is not None and a.llm.judge == "failed"),
                         "tr_failed": sum(1 for a in answers if a.llm is not None and a.llm.translation is None
                                          and a.llm.problems and "transl" in a.llm.problems[0]),
                         "judged_no": sum(1 for a in answers if a.llm is not None and a.llm.judge == "not answered")}
        for q, a in zip(qs, answers, strict=True):
            records.append({"row": name, "split": q["split"], "group": q["group"], "q": q["q"],
                            "expect": q.get("expect"), "answerable": a.answerable,
                            "files": [h.citation.file for h in a.hits],
                            "llm": a.llm.model_dump() if a.llm is not None else None})
        console.print(f"{name}: {wall:.0f} s for {len(qs)} questions", highlight=False)
    if log is not None:
        log.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    _print(console, results, split, assist.name, timed)


def _print(console: Console, results: dict[str, dict[str, Any]], split: str, model: str, timed: _Timed) -> None:
    splits = ("dev", "heldout") if split == "all" else (split,)
    for sp in splits:
        first = next(iter(results.values()))["score"]
        groups = [g for g in ("ko->en", "en->ko", "same", "all") if f"{sp} {g}" in first]
        table = Table(title=f"two-company set with the local model {model}, {sp.upper()}: hit@1 / hit@5 by "
                            "direction; abstention (positive = 'no answer')", width=170)
        table.add_column("row")
        for g in groups:
            table.add_column(f"{g} ({int(first[f'{sp} {g}']['n'])})", justify="right")
        for col in ("abst. P / R", "ans. refused", "unans. answered", "judge no", "judge fail", "tr. fail", "s/q"):
            table.add_column(col, justify="right")
        for name, r in results.items():
            sc, ab = r["score"], r["abst"][sp]
            table.add_row(name, *(f"{sc[f'{sp} {g}']['hit1']:.2f} / {sc[f'{sp} {g}']['hit5']:.2f}" for g in groups),
                          f"{ab['precision']:.2f} / {ab['recall']:.2f}", str(ab["refused_answerable"]),
                          str(ab["answered_unanswerable"]), str(r["judged_no"]), str(r["judge_failed"]),
                          str(r["tr_failed"]), f"{r['wall']:.2f}")
        console.print(table)
    table = Table(title="cost of the model calls (this machine, this run)")
    for col in ("call", "n", "mean s", "median s", "max s"):
        table.add_column(col, justify="left" if col == "call" else "right")
    for kind, xs in timed.calls.items():
        if xs:
            table.add_row(kind, str(len(xs)), f"{sum(xs) / len(xs):.2f}", f"{_median(xs):.2f}", f"{max(xs):.2f}")
    console.print(table)
    if timed.replayed:
        console.print(f"{timed.replayed} model replies replayed from the replies file (not timed)")


def _median(xs: Sequence[float]) -> float:
    s = sorted(xs)
    return s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2
