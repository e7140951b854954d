"""Fixtures for the knowledge tests: the bilingual corpus (plus a CP949 file, a DOCX and a PDF generated here,
so no binary is committed) and one session-scoped store reused where isolation is not what is tested."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from factorypilot.knowledge import KnowledgeStore

HERE = Path(__file__).parent
CORPUS = HERE / "corpus"


def make_pdf(pages: list[str]) -> bytes:
    """A minimal, valid PDF (Helvetica, ASCII text), one text line per ``\\n``, with a correct xref table."""
    objects: list[bytes] = []
    n_pages = len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n_pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    font_id = 3 + 2 * n_pages
    for i, text in enumerate(pages):
        lines = [ln.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for ln in text.split("\n")]
        ops = "BT /F1 11 Tf 50 780 Td 14 TL " + " ".join(f"({ln}) Tj T*" for ln in lines) + " ET"
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {4 + 2 * i} 0 R "
                       f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode())
        stream = ops.encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for num, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % num + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def make_encrypted_pdf(path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    src = path.with_suffix(".plain.pdf")
    src.write_bytes(make_pdf(["Confidential supplier price list"]))
    writer = PdfWriter(clone_from=PdfReader(src))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    with path.open("wb") as fh:
        writer.write(fh)
    src.unlink()


def make_docx(path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_heading("금형 보전 절차서", level=1)
    d.add_paragraph("프레스 금형은 타발 50,000회마다 연마한다.")
    d.add_heading("금형 온도 관리", level=2)
    d.add_paragraph("핫스탬핑 금형의 냉각수 온도는 25℃ 이하로 유지하고 냉각 채널 스케일을 분기마다 제거한다.")
    d.save(str(path))


PDF_PAGES = [
    "Conveyor CV-7 service manual\nBelt tension: deflection 15 mm at mid span.",
    "Conveyor CV-7 emergency stop\nThe pull-cord switch must be tested every week.\n"
    "If the pull cord does not stop the belt, lock out the conveyor and call maintenance.",
]


def build_corpus(dest: Path) -> Path:
    """Copy the committed corpus to ``dest`` and add the generated files (CP949 text, DOCX, PDF)."""
    shutil.copytree(CORPUS, dest)
    welding = dest / "welding_sop.txt"
    welding.write_bytes(welding.read_text(encoding="utf-8").encode("cp949"))  # Korean legacy encoding
    make_docx(dest / "die_maintenance.docx")
    (dest / "conveyor_manual.pdf").write_bytes(make_pdf(PDF_PAGES))
    return dest


COMPANIES = HERE / "companies"


def docx_from_src(src: Path, dest: Path) -> None:
    """A DOCX built from a small text form: ``# `` / ``## `` headings (Heading 1/2 styles), ``| a | b |`` lines as
    table rows (in place, one table per run of lines), other lines as paragraphs."""
    import docx

    d = docx.Document()
    rows: list[list[str]] = []

    def flush_table() -> None:
        if rows:
            table = d.add_table(rows=len(rows), cols=max(len(r) for r in rows))
            for i, r in enumerate(rows):
                for j, cell in enumerate(r):
                    table.cell(i, j).text = cell
            rows.clear()

    for line in src.read_text(encoding="utf-8").splitlines():
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
            continue
        flush_table()
        if line.startswith("## "):
            d.add_heading(line[3:].strip(), level=2)
        elif line.startswith("# "):
            d.add_heading(line[2:].strip(), level=1)
        elif line.strip():
            d.add_paragraph(line.strip())
    flush_table()
    d.save(str(dest))


def build_company_corpus(dest: Path, company: str) -> Path:
    """Copy one company of the two-company held-out corpus (tests/knowledge/companies/<company>) to ``dest``,
    turning each ``*.docx.src`` into the ``*.docx`` the answer key names."""
    shutil.copytree(COMPANIES / company, dest, ignore=shutil.ignore_patterns("*.docx.src"))
    for src in sorted((COMPANIES / company).glob("*.docx.src")):
        docx_from_src(src, dest / src.name.removesuffix(".src"))
    return dest


@pytest.fixture(scope="session")
def company_corpus_builder() -> Callable[[Path, str], Path]:
    return build_company_corpus


@pytest.fixture(scope="session")
def pdf_bytes() -> Callable[[list[str]], bytes]:
    """``make_pdf`` for tests (test modules cannot import conftest under --import-mode=importlib)."""
    return make_pdf


@pytest.fixture(scope="session")
def encrypted_pdf() -> Callable[[Path], None]:
    return make_encrypted_pdf


@pytest.fixture(scope="session")
def corpus_builder() -> Callable[[Path], Path]:
    return build_corpus


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_corpus(tmp_path_factory.mktemp("kn") / "corpus")


@pytest.fixture(scope="session")
def shared_store(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Iterator[KnowledgeStore]:
    """ACME's store with the whole corpus; read-only for the tests that use it."""
    store = KnowledgeStore.open("acme", home=tmp_path_factory.mktemp("kn-home"))
    report = store.ingest(corpus_dir)
    assert not report.failed, report.failed
    yield store
    store.close()


@pytest.fixture(scope="session")
def two_company_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both companies of the two-company set (two_company.yaml) ingested into one home; read-only for tests."""
    base = tmp_path_factory.mktemp("two-co")
    home = base / "home"
    for company in ("hanbit", "northgate"):
        with KnowledgeStore.open(company, home=home) as store:
            report = store.ingest(build_company_corpus(base / "docs" / company, company))
            assert not report.failed, report.failed
    return home
