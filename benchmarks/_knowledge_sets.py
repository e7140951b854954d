"""The bilingual set for benchmarks/knowledge.py: tests/knowledge/two_company.yaml (splits dev and heldout) plus
the second held-out part tests/knowledge/heldout2_*.yaml (split heldout2: new questions on the two companies and a
third company, daeyang, written before session 6's tuning). Builds each company's store, asks every question of
its own company, scores by split and direction.

Scoring is at file level (hit@1, hit@5: the expected file among the files of the top chunks, in rank order) and
at answer level (answer@5: the answer phrase inside the text of a top-5 hit, neighbours included). Unanswerable
questions (direction ``none``) are scored by the abstention decision only.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests" / "knowledge"
COMPANIES = ("hanbit", "northgate", "daeyang")
SPLITS = ("dev", "heldout", "heldout2")
DIRECTIONS = ("ko->en", "en->ko", "same", "none")


def load_key() -> list[dict[str, Any]]:
    key: list[dict[str, Any]] = yaml.safe_load((TESTS / "two_company.yaml").read_text(encoding="utf-8"))
    for part in sorted(TESTS.glob("heldout2_*.yaml")):
        key += yaml.safe_load(part.read_text(encoding="utf-8"))
    for q in key:
        d = q["direction"]
        q["group"] = "same" if d in ("ko->ko", "en->en") else d
    return key


def _conftest() -> Any:
    spec = importlib.util.spec_from_file_location("kn_conftest", TESTS / "conftest.py")
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def build_corpora(folder: Path) -> dict[str, Path]:
    """Each company's documents copied to ``folder/<company>`` (DOCX built from their text form)."""
    conf = _conftest()
    return {c: conf.build_company_corpus(folder / c, c) for c in COMPANIES}


def build_stores(home: Path, docs: Path) -> None:
    """Every company's store in ``home``, its documents copied to ``docs`` first; a store that already holds
    chunks is kept as it is."""
    from factorypilot.knowledge import KnowledgeStore

    for company, folder in build_corpora(docs).items():
        with KnowledgeStore.open(company, home=home) as store:
            if store.stats().chunks == 0:
                store.ingest(folder)


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text)


Ranked = Sequence[tuple[str, str]]  # (file, text) best first


def score(questions: Sequence[dict[str, Any]], results: Sequence[Ranked]) -> dict[str, dict[str, float]]:
    """``{"<split> <group>": {"n", "hit1", "hit5", "ans5"}}`` for answerable questions."""
    acc: dict[str, list[tuple[bool, bool, bool]]] = {}
    for q, res in zip(questions, results, strict=True):
        if q["group"] == "none":
            continue
        files: list[str] = []
        for f, _ in res:
            if f not in files:
                files.append(f)
        hit1 = bool(files) and files[0] == q["expect"]
        hit5 = q["expect"] in files[:5]
        ans5 = any(norm(q["answer"]) in norm(t) for f, t in res[:5] if f == q["expect"])
        for key in (f"{q['split']} {q['group']}", f"{q['split']} all"):
            acc.setdefault(key, []).append((hit1, hit5, ans5))
    return {k: {"n": len(v), "hit1": sum(a for a, _, _ in v) / len(v), "hit5": sum(b for _, b, _ in v) / len(v),
                "ans5": sum(c for _, _, c in v) / len(v)} for k, v in acc.items()}


def abstention(questions: Sequence[dict[str, Any]], abstained: Sequence[bool]) -> dict[str, dict[str, float]]:
    """Per split: precision/recall of "not answerable" (positive = abstained), answerable questions wrongly
    refused, unanswerable ones answered."""
    out: dict[str, dict[str, float]] = {}
    for split in SPLITS:
        pairs = [(q["group"] == "none", a) for q, a in zip(questions, abstained, strict=True) if q["split"] == split]
        tp = sum(u and a for u, a in pairs)
        fp = sum((not u) and a for u, a in pairs)
        fn = sum(u and (not a) for u, a in pairs)
        out[split] = {"unanswerable": sum(u for u, _ in pairs), "answerable": sum(not u for u, _ in pairs),
                      "precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / (tp + fn) if tp + fn else 1.0,
                      "refused_answerable": fp, "answered_unanswerable": fn}
    return out


def per_company(questions: Sequence[dict[str, Any]], fn: Callable[[str, list[dict[str, Any]]], list[Any]]) -> list[Any]:
    """Run ``fn(company, its questions)`` per company and put the answers back in question order."""
    out: list[Any] = [None] * len(questions)
    for c in COMPANIES:
        idx = [i for i, q in enumerate(questions) if q["company"] == c]
        for i, r in zip(idx, fn(c, [questions[i] for i in idx]), strict=True):
            out[i] = r
    return out


# ----------------------------------------------------------------------------------------------- options
# name -> (KnowledgeConfig overrides, mode). Every option runs on the same two stores (config changes that need
# other vectors are applied by re-centring the stored ones; query-time switches need nothing).
OPTIONS: dict[str, tuple[dict[str, Any], str]] = {
    "vector: e5-small as is (no centring)": ({"language_centering": 0.0}, "vector"),
    "vector: language-centred (c, learned from the company's chunks)": ({}, "vector"),
    "BM25 + hand glossary + loanwords learned from the company's words": ({}, "bm25"),
    "BM25 + hand glossary (seed)": ({"loanwords": False}, "bm25"),
    "BM25, no glossary": ({"expand_queries": False}, "bm25"),
    "hybrid, fixed weights, no centring (previous default)": (
        {"adaptive_weight": False, "language_centering": 0.0}, "hybrid"),
    "hybrid, centred, fixed weights": ({"adaptive_weight": False}, "hybrid"),
    "hybrid default: centred, adaptive weight, glossary + loanwords": ({}, "hybrid"),
    "hybrid default, no glossary, no loanwords": ({"expand_queries": False}, "hybrid"),
    "hybrid default without loanwords": ({"loanwords": False}, "hybrid"),
    "hybrid default without the new-file slot (session 5 default)": ({"new_file_slots": 0}, "hybrid"),
}


def evaluate(home: Path, key: list[dict[str, Any]], overrides: dict[str, Any], mode: str,
             k: int = 5) -> list[list[tuple[str, str]]]:
    """Every question asked of its own company's store: (file, hit text with neighbours) best first."""
    from factorypilot.knowledge import KnowledgeConfig, KnowledgeStore

    cfg = KnowledgeConfig(**overrides)

    def run(company: str, qs: list[dict[str, Any]]) -> list[list[tuple[str, str]]]:
        with KnowledgeStore.open(company, home=home, config=cfg) as store:
            return [[(h.citation.file, h.context) for h in store.query(q["q"], k=k, mode=mode)]  # type: ignore[arg-type]
                    for q in qs]

    return per_company(key, run)


def asks(home: Path, key: list[dict[str, Any]], overrides: dict[str, Any] | None = None) -> list[tuple[bool, float]]:
    """``ask()`` per question: (answerable, evidence)."""
    from factorypilot.knowledge import KnowledgeConfig, KnowledgeStore

    cfg = KnowledgeConfig(**(overrides or {}))

    def run(company: str, qs: list[dict[str, Any]]) -> list[tuple[bool, float]]:
        with KnowledgeStore.open(company, home=home, config=cfg) as store:
            return [(a.answerable, a.evidence) for a in (store.ask(q["q"]) for q in qs)]

    return per_company(key, run)


def auc(pos: Sequence[float], neg: Sequence[float]) -> float:
    """Probability that an answerable question has more evidence than an unanswerable one."""
    if not pos or not neg:
        return float("nan")
    return sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))


def pick_threshold(evidence: Sequence[float], answerable: Sequence[bool], max_refused: int = 1) -> float:
    """The rule fixed before looking: the largest threshold (0.01 steps) that refuses at most ``max_refused``
    answerable questions."""
    best = 0.0
    for i in range(0, 151):
        t = round(0.01 * i, 2)
        if sum(e < t for e, a in zip(evidence, answerable, strict=True) if a) <= max_refused:
            best = t
    return best


def replicate(home: Path, company: str, target: int) -> int:
    """Grow a store to ``target`` chunks by copying its ingested chunks (text, tokens, vectors) under new file
    names — for measuring what depends on the store's size (cold query, memory) when ingesting that many
    distinct chunks would take too long on a loaded machine. Returns the chunk count."""
    import numpy as np

    from factorypilot.knowledge import KnowledgeStore
    from factorypilot.knowledge._manifest import ChunkRow, FileRow

    with KnowledgeStore.open(company, home=home) as store:
        base = list(store._manifest.chunks())
        files = {f.source: f for f in store._manifest.files()}
        got = store._col.get(ids=[r.chunk_id for r in base], include=["embeddings"])
        vec = dict(zip(got["ids"], np.asarray(got["embeddings"], dtype=np.float32), strict=True))
        copy = 0
        while len(store._raw) < target:
            copy += 1
            by_source: dict[str, list[ChunkRow]] = {}
            for r in base:
                if len(store._raw) + sum(map(len, by_source.values())) >= target:
                    break
                src = f"{r.source}#copy{copy}"
                by_source.setdefault(src, []).append(ChunkRow(
                    f"c{copy:03d}{r.chunk_id}", src, r.text, r.tokens,
                    {**r.meta, "file": f"copy{copy}/{r.meta['file']}", "source": src}))
            for src, rows in by_source.items():
                f = files[rows[0].source.split("#copy")[0]]
                vectors = np.stack([vec[r.chunk_id[4:]] for r in rows])
                store._col.upsert(ids=[r.chunk_id for r in rows], embeddings=vectors,
                                  documents=[r.text for r in rows], metadatas=[r.meta for r in rows])
                store._manifest.replace_file(FileRow(src, f"copy{copy}/{f.file}", f"{f.sha256}{copy}", len(rows),
                                                     f.ext, f.doc_type), rows)
                store._add_chunks(rows, vectors)
        store._commit_index()
        return len(store._raw)


def weak_band(key: list[dict[str, Any]], verdicts: Sequence[tuple[bool, float]],
              weak_threshold: float) -> dict[str, dict[str, int]]:
    """Per split, what the three-way verdict (no answer / weak / answer) did with each kind of question."""
    out: dict[str, dict[str, int]] = {}
    for split in SPLITS:
        m = {"un_refused": 0, "un_weak": 0, "un_answered": 0, "an_refused": 0, "an_weak": 0, "an_answered": 0}
        for q, (answerable, evidence) in zip(key, verdicts, strict=True):
            if q["split"] != split:
                continue
            kind = "un" if q["group"] == "none" else "an"
            verdict = "refused" if not answerable else "weak" if evidence < weak_threshold else "answered"
            m[f"{kind}_{verdict}"] += 1
        out[split] = m
    return out
