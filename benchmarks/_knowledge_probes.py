"""Process-level measurements for benchmarks/knowledge.py, each in fresh processes so time and memory are their own:

- ``cold_query``: ``factorypilot knowledge query`` against the bare ``factorypilot --help`` (wall and CPU time);
- ``memory``: RSS of a process that holds a store and answers, step by step;
- ``bm25_open``: opening the BM25 index as memory-mapped arrays (index format 4) against unpickling the same index
  as dicts and sets (format 3, before issue 17's third session);
- ``pilot_memory``: RSS of a whole running pilot service (``pilot run <sector> --simulate``: agent graph, OPC-UA
  connector, in-process simulator, knowledge store) with and without its knowledge documents;
- ``ingest_compare``: ``KnowledgeStore.ingest`` (parse, chunk, embed, BM25, Chroma, manifest) against the bare
  floor — the same chunk texts embedded with the same model and added to a fresh Chroma collection.
"""

from __future__ import annotations

import json
import os
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console


def cli() -> list[str]:
    exe = Path(sys.executable).parent / "factorypilot"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "factorypilot.cli"]


def cold_query(console: Console, home: Path, company: str, question: str, runs: int = 5) -> None:
    """``knowledge query`` in fresh processes (median of ``runs``) against ``factorypilot --help``; the two are
    interleaved so both see the same machine load."""
    env = {**os.environ, "FACTORYPILOT_HOME": str(home), "COLUMNS": "120"}
    wall: dict[str, list[float]] = {"help": [], "query": []}
    cpu: dict[str, list[float]] = {"help": [], "query": []}
    cmds = {"help": ["--help"], "query": ["knowledge", "query", "--company", company, question]}
    for _ in range(runs):
        for name, args in cmds.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            res = subprocess.run([*cli(), *args], env=env, capture_output=True, text=True, check=False)
            wall[name].append(time.perf_counter() - t)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            if res.returncode != 0:
                raise SystemExit(f"{args} failed: {res.stderr[-500:]}")
    q, base = statistics.median(wall["query"]), statistics.median(wall["help"])
    qc, bc = statistics.median(cpu["query"]), statistics.median(cpu["help"])
    console.print(f"cold CLI query, median of {runs} fresh processes: wall [bold]{q:.2f} s[/] vs bare `factorypilot "
                  f"--help` {base:.2f} s (ratio {q / base:.2f}x); CPU [bold]{qc:.2f} s[/] vs {bc:.2f} s (ratio "
                  f"{qc / bc:.2f}x); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


_PROBE = """
import json, sys, time
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS'):
            return int(line.split()[1]) / 1024
out = {'python': rss()}
from factorypilot.knowledge import KnowledgeStore
out['import knowledge'] = rss()
import factorypilot.pilots.runtime
out['import pilots.runtime'] = rss()
s = KnowledgeStore.open(sys.argv[2], home=__import__('pathlib').Path(sys.argv[1]))
out['store open (index mapped)'] = rss()
s.ask(sys.argv[3])
out['first answer (model, pages touched)'] = rss()
for _ in range(20):
    s.ask(sys.argv[3])
out['after 20 answers'] = rss()
s2 = KnowledgeStore.open(sys.argv[2], home=__import__('pathlib').Path(sys.argv[1]))
s2.ask(sys.argv[3])
out['a second store in the process'] = rss()
print(json.dumps(out))
"""


def memory(console: Console, home: Path, company: str, question: str) -> None:
    """RSS of a fresh process step by step: holding the store and answering, as a pilot service does."""
    res = subprocess.run([sys.executable, "-c", _PROBE, str(home), company, question], capture_output=True,
                         text=True, check=True)
    steps = json.loads(res.stdout.strip().splitlines()[-1])
    console.print("process RSS (MB): " + ", ".join(f"{k} {v:.0f}" for k, v in steps.items()))


_BM25_PROBE = """
import json, pickle, sys, time
from pathlib import Path
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS'):
            return int(line.split()[1]) / 1024
from factorypilot.knowledge._bm25 import FrozenBM25
folder, how = Path(sys.argv[1]), sys.argv[2]
with (folder / 'index.pkl').open('rb') as fh:
    ids = list(pickle.load(fh)['ids'])
r0, c0, t0 = rss(), time.process_time(), time.perf_counter()
if how == 'arrays':
    b = FrozenBM25.load(folder, ids)
else:
    with open(sys.argv[3], 'rb') as fh:
        b = pickle.load(fh)
t1, c1 = time.perf_counter(), time.process_time()
top = b.search(['spindle', 'vibration', '스핀', '핀들', '진동', '경보'], 50)
t2 = time.perf_counter()
print(json.dumps({'open_s': t1 - t0, 'open_cpu_s': c1 - c0, 'search_s': t2 - t1, 'rss_mb': rss() - r0,
                  'top': top[:3]}))
"""


def bm25_open(console: Console, home: Path, company: str, runs: int = 5) -> None:
    """Open + one search of the BM25 index in fresh processes: memory-mapped arrays against the pickle of dicts and
    sets the index used to be (written here from the same index); medians, interleaved; the top hits must agree."""
    from factorypilot.knowledge._bm25 import FrozenBM25

    folder = home / "companies" / company / "index"
    with (folder / "index.pkl").open("rb") as fh:
        ids = list(pickle.load(fh)["ids"])
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "bm25.pkl"
        old.write_bytes(pickle.dumps(FrozenBM25.load(folder, ids).thaw(), protocol=pickle.HIGHEST_PROTOCOL))
        got: dict[str, list[dict[str, Any]]] = {"arrays": [], "pickle": []}
        for _ in range(runs):
            for how in got:
                res = subprocess.run([sys.executable, "-c", _BM25_PROBE, str(folder), how, str(old)],
                                     capture_output=True, text=True, check=True)
                got[how].append(json.loads(res.stdout.strip().splitlines()[-1]))
    if got["arrays"][0]["top"] != got["pickle"][0]["top"]:
        console.print("[red]BM25 arrays and pickle disagree[/]")
    med = {how: {k: statistics.median(r[k] for r in rows) for k in ("open_s", "open_cpu_s", "search_s", "rss_mb")}
           for how, rows in got.items()}
    a, p = med["arrays"], med["pickle"]
    console.print(f"BM25 open ({len(ids)} chunks, median of {runs} fresh processes): arrays "
                  f"[bold]{a['open_s'] * 1000:.1f} ms[/] (CPU {a['open_cpu_s'] * 1000:.1f} ms, "
                  f"+{a['rss_mb']:.1f} MB after a search) vs pickle "
                  f"{p['open_s'] * 1000:.1f} ms (CPU {p['open_cpu_s'] * 1000:.1f} ms, +{p['rss_mb']:.1f} MB); search "
                  f"{a['search_s'] * 1000:.1f} vs {p['search_s'] * 1000:.1f} ms")


def _status(pid: int) -> dict[str, float]:
    out: dict[str, float] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(("VmRSS", "VmHWM")):
                    out[line.split(":")[0]] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return out


def _run_pilot(home: Path, sector: str, seconds: float, knowledge: bool) -> dict[str, float]:
    """``pilot run <sector> --simulate --seconds N``: peak RSS (VmHWM) and the RSS in the last second before it
    stops, read from /proc while it runs."""
    env = {**os.environ, "FACTORYPILOT_HOME": str(home)}
    args = [*cli(), "pilot", "run", sector, "--simulate", "--seconds", str(seconds)]
    if not knowledge:
        args.append("--no-knowledge")
    t = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    last: dict[str, float] = {}
    while proc.poll() is None:
        seen = _status(proc.pid)
        if seen:
            last = seen
        time.sleep(0.2)
    err = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"pilot run failed ({proc.returncode}): {err[-800:]}")
    return {"peak": last.get("VmHWM", float("nan")), "end": last.get("VmRSS", float("nan")),
            "wall": time.perf_counter() - t}


def pilot_memory(console: Console, sector: str = "mobility", seconds: float = 20.0) -> None:
    """A whole pilot service: first start (ingests its documents), second start (store already built), and the
    same pilot without knowledge (the share the knowledge store adds)."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        first = _run_pilot(home, sector, seconds, True)
        again = _run_pilot(home, sector, seconds, True)
        bare = _run_pilot(Path(tmp) / "bare", sector, seconds, False)
    console.print(
        f"pilot service RSS (`pilot run {sector} --simulate --seconds {seconds:g}`, MB, peak / at the end): "
        f"with knowledge, first start (ingests) {first['peak']:.0f} / {first['end']:.0f}; second start "
        f"[bold]{again['peak']:.0f} / {again['end']:.0f}[/]; without knowledge {bare['peak']:.0f} / "
        f"{bare['end']:.0f} (knowledge adds {again['end'] - bare['end']:.0f} MB at the end); goal <= 350 MB")


_INGEST = """
import json, resource, sys, time
from pathlib import Path
mode, home, folder = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
from factorypilot.knowledge import KnowledgeStore
t, c = time.perf_counter(), time.process_time()
if mode == "store":
    with KnowledgeStore.open("bench", home=home) as store:
        store.ingest(folder)
        n = store.stats().chunks
else:  # the floor: the same chunk texts (as embedded by the store), same model and batch, raw Chroma add
    import chromadb
    from chromadb.config import Settings
    from factorypilot.knowledge._embeddings import resolve_embedder
    from factorypilot.knowledge._ingest import embed_text
    from factorypilot.knowledge._manifest import Manifest
    rows = list(Manifest(home / "companies" / "bench" / "manifest.sqlite").chunks())
    t, c = time.perf_counter(), time.process_time()
    emb = resolve_embedder(None, model_path=None, num_threads=1)
    col = chromadb.PersistentClient(path=str(folder), settings=Settings(anonymized_telemetry=False)
                                    ).get_or_create_collection("raw", embedding_function=None)
    for i in range(0, len(rows), 32):
        part = rows[i:i + 32]
        col.add(ids=[r.chunk_id for r in part], embeddings=emb.passages([embed_text(r.text, r.meta) for r in part]),
                documents=[r.text for r in part], metadatas=[r.meta for r in part])
    n = col.count()
print(json.dumps({"chunks": n, "wall": time.perf_counter() - t, "cpu": time.process_time() - c,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _ingest_run(*args: str) -> dict[str, Any]:
    res = subprocess.run([sys.executable, "-c", _INGEST, *args], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"ingest probe failed: {res.stderr[-800:]}")
    out: dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


def ingest_compare(console: Console, folder: Path) -> None:
    """Store ingest vs the floor (same texts, same model, raw Chroma add), each in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        ours = _ingest_run("store", str(home), str(folder))
        floor = _ingest_run("raw", str(home), str(Path(tmp) / "raw-chroma"))
    rate, base = ours["chunks"] / ours["wall"], floor["chunks"] / floor["wall"]
    console.print(
        f"ingest, {ours['chunks']} chunks, fresh processes: KnowledgeStore.ingest [bold]{rate:.1f} chunks/s[/] "
        f"(CPU {ours['chunks'] / ours['cpu']:.1f} chunks per CPU-s), peak RSS [bold]{ours['peak_mb']:.0f} MB[/]; "
        f"floor (same texts embedded with the same model, raw Chroma add) {base:.1f} chunks/s (CPU "
        f"{floor['chunks'] / floor['cpu']:.1f}), peak RSS {floor['peak_mb']:.0f} MB; ratio {rate / base:.2f}x; "
        f"load average {os.getloadavg()[0]:.1f}")
