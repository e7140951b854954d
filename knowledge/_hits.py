"""Turning ranked chunk ids into ``Hit``s: citation, metadata, each method's rank and the neighbouring chunks of
the same section (``Hit.context``, so an answer cut at a chunk border is whole there)."""

from __future__ import annotations

from factorypilot.knowledge._manifest import Manifest
from factorypilot.knowledge._models import Citation, Hit

__all__ = ["build_hits"]

Ranked = list[tuple[str, float]]


def build_hits(manifest: Manifest, ranked: Ranked, vec: Ranked, lex: Ranked) -> list[Hit]:
    """Hits with citations, each method's rank, and the neighbouring chunks of the same section
    (``Hit.context``)."""
    if not ranked:
        return []
    vrank = {cid: i for i, (cid, _) in enumerate(vec, start=1)}
    brank = {cid: i for i, (cid, _) in enumerate(lex, start=1)}
    ids = [cid for cid, _ in ranked]
    near = [n for cid in ids for n in _neighbours(cid)]
    rows = manifest.rows([*ids, *near])
    out: list[Hit] = []
    for cid, score in ranked:
        row = rows.get(cid)
        if row is None:
            continue
        m = row.meta
        page = m.get("page")
        cite = Citation(file=str(m.get("file", "")), source=row.source, section=str(m.get("section", "")),
                        page=int(page) if isinstance(page, int) else None, chunk_id=cid)
        keep = {k: v for k, v in m.items() if k in ("doc_type", "equipment", "date", "title", "ext")}
        before, after = (rows.get(n) for n in _neighbours(cid))
        parts = [r.text for r in (before, row, after) if r is not None and r.source == row.source
                 and r.meta.get("section") == m.get("section")]
        out.append(Hit(text=row.text, score=score, citation=cite, metadata=keep, context="\n".join(parts),
                       vector_rank=vrank.get(cid), bm25_rank=brank.get(cid)))
    return out


def _neighbours(chunk_id: str) -> tuple[str, str]:
    """Ids of the chunks before and after (``<sha>-<index>``: same file, index ± 1)."""
    sha, _, index = chunk_id.rpartition("-")
    if not index.isdigit():
        return "", ""
    i = int(index)
    return (f"{sha}-{i - 1:04d}" if i > 0 else ""), f"{sha}-{i + 1:04d}"
