"""Idempotent re-ingest, replacement of changed files, bad files reported per file, persistence."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from factorypilot.knowledge import FileStatus, IngestProgress, KnowledgeStore


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    d = tmp_path / "docs"
    d.mkdir()
    (d / "spindle.md").write_text("# 스핀들\n스핀들 베어링은 8,000시간마다 교체한다.\n", encoding="utf-8")
    (d / "press.txt").write_text("Press PR-2: replace the ram seal when oil appears on the platen.\n")
    return d


@pytest.fixture
def store(tmp_path: Path) -> KnowledgeStore:
    return KnowledgeStore.open("acme", home=tmp_path / "home")


def test_reingest_unchanged_adds_nothing(store: KnowledgeStore, docs: Path) -> None:
    first = store.ingest(docs)
    assert first.count(FileStatus.ADDED) == 2
    assert first.chunks_added == store.stats().chunks == 2
    second = store.ingest(docs)
    assert second.count(FileStatus.UNCHANGED) == 2
    assert second.chunks_added == second.chunks_removed == 0
    assert store.stats().chunks == 2
    assert store._col.count() == 2  # the vectors too, not just the manifest


def test_changed_file_replaces_its_chunks(store: KnowledgeStore, docs: Path) -> None:
    store.ingest(docs)
    (docs / "spindle.md").write_text("# 스핀들\n스핀들 베어링 교체 주기는 12,000시간으로 변경.\n", encoding="utf-8")
    report = store.ingest(docs)
    assert [f.status for f in report.files] == [FileStatus.UNCHANGED, FileStatus.REPLACED]
    assert report.chunks_removed == 1
    assert report.chunks_added == 1
    texts = " ".join(h.text for h in store.query("스핀들 베어링 교체 주기", k=10))
    assert "12,000" in texts
    assert "8,000" not in texts
    assert store.stats().chunks == store._col.count() == 2


def test_bad_files_are_reported_and_the_rest_ingested(
    store: KnowledgeStore, docs: Path, pdf_bytes: Callable[[list[str]], bytes],
    encrypted_pdf: Callable[[Path], None],
) -> None:
    encrypted_pdf(docs / "locked.pdf")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (docs / "empty.txt").write_bytes(b"")
    (docs / "blank.md").write_text("   \n\n", encoding="utf-8")
    (docs / "drawing.dwg").write_bytes(b"\x00\x01binary")
    (docs / "broken.docx").write_bytes(b"PK not a zip")
    (docs / "good.pdf").write_bytes(pdf_bytes(["Chiller CH-1 setpoint is 12 C."]))
    report = store.ingest([docs, docs / "missing.md"])
    by_name = {f.path.name: f for f in report.files}
    assert by_name["locked.pdf"].status is FileStatus.FAILED
    assert "encrypted" in (by_name["locked.pdf"].error or "")
    assert by_name["broken.pdf"].status is FileStatus.FAILED
    assert by_name["empty.txt"].status is FileStatus.FAILED
    assert "empty" in (by_name["empty.txt"].error or "")
    assert by_name["blank.md"].status is FileStatus.FAILED
    assert by_name["broken.docx"].status is FileStatus.FAILED
    assert by_name["drawing.dwg"].status is FileStatus.UNSUPPORTED
    assert by_name["missing.md"].status is FileStatus.FAILED
    assert all(str(f.path.name) in (f.error or "") for f in report.failed)  # every error says where
    assert {f.path.name for f in report.files if f.status is FileStatus.ADDED} == {"spindle.md", "press.txt",
                                                                                   "good.pdf"}
    assert store.query("chiller setpoint", k=1)[0].citation.file == "good.pdf"


def test_duplicate_content_is_stored_once(store: KnowledgeStore, docs: Path, tmp_path: Path) -> None:
    store.ingest(docs)
    copy = tmp_path / "copy.md"
    copy.write_bytes((docs / "spindle.md").read_bytes())
    report = store.ingest(copy)
    assert report.files[0].status is FileStatus.DUPLICATE
    assert store.stats().chunks == 2


def test_defaults_and_front_matter(store: KnowledgeStore, tmp_path: Path) -> None:
    d = tmp_path / "meta"
    d.mkdir()
    (d / "a.md").write_text("---\ndoc_type: incident\ndate: 2024-03-14\n---\n누유 사고 보고\n", encoding="utf-8")
    (d / "b.txt").write_text("Leak check list for the press\n")
    store.ingest(d, doc_type="sop", equipment="PR-2", date="2023-01-01")
    hits = {h.citation.file: h.metadata for h in store.query("leak 누유", k=5)}
    assert hits["a.md"] == {"doc_type": "incident", "equipment": "PR-2", "date": 20240314, "ext": "md"}
    assert hits["b.txt"] == {"doc_type": "sop", "equipment": "PR-2", "date": 20230101, "ext": "txt"}


def test_progress_is_reported(store: KnowledgeStore, docs: Path) -> None:
    seen: list[IngestProgress] = []
    store.ingest(docs, progress=seen.append)
    assert [(p.done, p.total) for p in seen] == [(1, 2), (2, 2)]
    assert seen[-1].chunks_embedded == 2


def test_reopen_persists_and_delete(tmp_path: Path, docs: Path) -> None:
    home = tmp_path / "home"
    with KnowledgeStore.open("acme", home=home) as s1:
        s1.ingest(docs)
    s2 = KnowledgeStore.open("acme", home=home)
    assert s2.stats().chunks == 2
    assert s2.query("ram seal", k=1, mode="bm25")[0].citation.file == "press.txt"
    assert s2.query("ram seal", k=1, mode="vector")[0].citation.file == "press.txt"
    assert s2.ingest(docs).count(FileStatus.UNCHANGED) == 2
    assert s2.delete(docs / "press.txt") == 1
    assert [h.citation.file for h in s2.query("ram seal", k=5)] == ["spindle.md"]
    assert s2.delete_all() == 1
    assert s2.query("스핀들") == []


async def test_async_ingest(store: KnowledgeStore, docs: Path) -> None:
    report = await store.aingest(docs)
    assert report.chunks_added == 2
    assert (await store.aquery("베어링 교체", k=1))[0].citation.file == "spindle.md"


def test_xlsx_sheets_are_cited(store: KnowledgeStore, tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "불량이력"
    ws.append(["일자", "설비", "불량", "조치"])
    ws.append(["2024-04-15", "PR-2", "버 발생", "금형 연마"])
    ws.append(["2024-04-20", "CNC-01", "치수 불량", "공구 보정"])
    path = tmp_path / "quality.xlsx"
    wb.save(path)
    store.ingest(path)
    hit = store.query("치수 불량 공구 보정", k=1)[0]
    assert (hit.citation.file, hit.citation.section) == ("quality.xlsx", "sheet 불량이력, rows 2-3")
    assert "설비: CNC-01" in hit.text
