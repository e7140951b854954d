"""File loaders: one function per type, each returning sections (LangChain ``Document``s) with
``section``/``page`` metadata, plus document-level metadata from Markdown/TXT front matter.

langchain-community's loaders are being sunset (the package warns on import), so the loaders here call the same
parsers directly — pypdf, python-docx, BeautifulSoup, openpyxl, csv — and produce LangChain ``Document``s, which
``langchain-text-splitters`` then splits. Every problem is raised as ``DataError`` with the file, so the ingest
loop can report it per file and go on.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from langchain_core.documents import Document
from langchain_text_splitters import MarkdownHeaderTextSplitter

from factorypilot.errors import DataError, DependencyMissing
from factorypilot.knowledge._sections import (
    ROW_LEVEL,
    Sections,
    is_rule,
    log_row,
    markdown_tables,
    row_line,
    txt_heading,
    txt_title,
)

__all__ = ["SUPPORTED_SUFFIXES", "LoadedFile", "load_file"]

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.S)
_META_KEYS = ("doc_type", "equipment", "date", "title")
_ROWS_PER_BLOCK_CHARS = 700


class LoadedFile:
    def __init__(self, sections: list[Document], meta: dict[str, str | int]) -> None:
        self.sections = sections
        self.meta = meta


def decode_text(raw: bytes, file: str) -> str:
    """UTF-8 (with or without BOM), then CP949/EUC-KR, then charset-normalizer's best guess."""
    for enc in ("utf-8-sig", "cp949"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is None:
        raise DataError("cannot detect the text encoding", file=file, hint="save the file as UTF-8")
    return str(best)


def normalise_meta(raw: dict[str, Any], file: str) -> dict[str, str | int]:
    """Keep the known keys; dates become ``YYYYMMDD`` integers (Chroma can range-filter ints)."""
    out: dict[str, str | int] = {}
    for key in _META_KEYS:
        value = raw.get(key)
        if value is None or value == "":
            continue
        if key == "date":
            out[key] = date_int(value, file)
        else:
            out[key] = str(value).strip()
    return out


def date_int(value: Any, file: str) -> int:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.year * 10000 + value.month * 100 + value.day
    try:
        d = date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise DataError(f"date {value!r} is not an ISO date", file=file, column="date",
                        hint="write dates as YYYY-MM-DD") from exc
    return d.year * 10000 + d.month * 100 + d.day


def _split_front_matter(text: str, file: str) -> tuple[str, dict[str, str | int]]:
    m = _FRONT_MATTER.match(text)
    if not m:
        return text, {}
    try:
        data = yaml.safe_load(m.group(1))
    except yaml.YAMLError as exc:
        raise DataError(f"front matter is not valid YAML: {exc}", file=file,
                        hint="fix the block between the leading '---' lines") from exc
    meta = normalise_meta(data, file) if isinstance(data, dict) else {}
    return text[m.end():], meta


def _load_txt(path: Path, raw: bytes) -> LoadedFile:
    """Plain text: headings guessed line by line (``_sections.txt_heading``), the dated rows of a log each a section
    (``_sections.log_row``); no heading → one section ""."""
    text, meta = _split_front_matter(decode_text(raw, str(path)), str(path))
    sections = Sections()
    in_rows = False
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    more = first is not None and any(line.strip() for line in lines[first + 1:])
    title = txt_title(lines[first]) if first is not None and more and not txt_heading(lines[first]) else None
    for i, line in enumerate(lines):
        if title is not None and i == first:
            sections.heading(0, line, title=title)
            continue
        level = txt_heading(line)
        row = None if level else log_row(line)
        if level:
            sections.heading(level, line)
            in_rows = False
        elif row is not None:
            sections.heading(ROW_LEVEL, line, title=row)
            in_rows = True
        elif in_rows and is_rule(line):  # the table of rows ends; what follows is not the last row's
            sections.close(ROW_LEVEL)
            in_rows = False
        else:
            sections.line(line)
    return LoadedFile(sections.done(), meta)


def _load_md(path: Path, raw: bytes) -> LoadedFile:
    text, meta = _split_front_matter(decode_text(raw, str(path)), str(path))
    splitter = MarkdownHeaderTextSplitter(
        headers_to_split_on=[("#", "h1"), ("##", "h2"), ("###", "h3"), ("####", "h4")], strip_headers=False)
    docs = splitter.split_text(text)
    levels = ("h1", "h2", "h3", "h4")
    sections = [
        Document(page_content=markdown_tables(d.page_content),
                 metadata={"section": " > ".join(str(d.metadata[h]) for h in levels if h in d.metadata)})
        for d in docs
    ]
    return LoadedFile(sections, meta)


def _row_blocks(rows: Iterable[tuple[int, list[str]]], header: list[str], label: str) -> list[Document]:
    """Rows as ``column: value`` lines, grouped into blocks of ~700 characters, section ``rows a-b``."""
    out: list[Document] = []
    lines: list[str] = []
    first = last = 0
    for rowno, cells in rows:
        if not any(c.strip() for c in cells):
            continue
        line = row_line(header, cells)
        if lines and sum(len(x) for x in lines) + len(line) > _ROWS_PER_BLOCK_CHARS:
            out.append(Document(page_content="\n".join(lines), metadata={"section": f"{label}rows {first}-{last}"}))
            lines = []
        if not lines:
            first = rowno
        lines.append(line)
        last = rowno
    if lines:
        out.append(Document(page_content="\n".join(lines), metadata={"section": f"{label}rows {first}-{last}"}))
    return out


def _load_csv(path: Path, raw: bytes) -> LoadedFile:
    text = decode_text(raw, str(path))
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        all_rows = list(reader)
    except csv.Error as exc:
        raise DataError(f"CSV cannot be parsed: {exc}", file=str(path), row=reader.line_num) from exc
    if not all_rows:
        raise DataError("CSV has no rows", file=str(path))
    header = [h.strip() for h in all_rows[0]]
    return LoadedFile(_row_blocks(((i + 2, r) for i, r in enumerate(all_rows[1:])), header, ""), {})


def _load_xlsx(path: Path, raw: bytes) -> LoadedFile:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/InvalidFileException on broken workbooks
        raise DataError(f"workbook cannot be opened: {exc}", file=str(path),
                        hint="open and re-save it in Excel/LibreOffice as .xlsx") from exc
    sections: list[Document] = []
    try:
        for ws in wb.worksheets:
            rows = [["" if v is None else str(v) for v in r] for r in ws.iter_rows(values_only=True)]
            if not rows:
                continue
            header = [h.strip() for h in rows[0]]
            sections += _row_blocks(((i + 2, r) for i, r in enumerate(rows[1:])), header, f"sheet {ws.title}, ")
    finally:
        wb.close()
    return LoadedFile(sections, {})


def _load_docx(path: Path, raw: bytes) -> LoadedFile:
    try:
        import docx
    except ImportError as exc:
        raise DependencyMissing("python-docx", "docs", feature="DOCX ingest") from exc
    try:
        document = docx.Document(io.BytesIO(raw))
    except Exception as exc:  # python-docx raises zipfile/KeyError/PackageNotFoundError on broken files
        raise DataError(f"DOCX cannot be opened: {exc}", file=str(path), hint="re-save it as .docx") from exc
    sections = Sections()
    for block in document.iter_inner_content():  # paragraphs and tables in document order
        if isinstance(block, docx.table.Table):
            rows = [[cell.text.strip() for cell in row.cells] for row in block.rows]
            for cells in rows[1:] if len(rows) > 1 else rows:
                sections.line(row_line(rows[0], cells) if len(rows) > 1 else " | ".join(cells))
            continue
        style = (block.style.name if block.style is not None else "") or ""
        m = re.match(r"(?:Heading|제목)\s*(\d)", style)
        if m and block.text.strip():
            sections.heading(int(m.group(1)), block.text)
        else:
            sections.line(block.text)
    return LoadedFile(sections.done(), {})


def _load_pdf(path: Path, raw: bytes) -> LoadedFile:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError as exc:
        raise DependencyMissing("pypdf", "docs", feature="PDF ingest") from exc
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DataError("PDF is encrypted", file=str(path),
                            hint="save an unencrypted copy (or remove the password) and ingest that")
        pages = [(i + 1, page.extract_text() or "") for i, page in enumerate(reader.pages)]
    except DataError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DataError(f"PDF cannot be read: {exc}", file=str(path), hint="re-export the PDF") from exc
    sections = [Document(page_content=text, metadata={"section": f"page {n}", "page": n})
                for n, text in pages if text.strip()]
    if not sections:
        raise DataError("PDF has no extractable text (scanned image?)", file=str(path),
                        hint="run OCR on it first, or ingest the source document")
    return LoadedFile(sections, {})


def _load_html(path: Path, raw: bytes) -> LoadedFile:
    try:
        from bs4 import BeautifulSoup
    except ImportError as exc:
        raise DependencyMissing("beautifulsoup4", "docs", feature="HTML ingest") from exc
    soup = BeautifulSoup(decode_text(raw, str(path)), "html.parser")
    for tag in soup(["script", "style", "noscript"]):
        tag.decompose()
    blocks = ("h1", "h2", "h3", "h4", "p", "li", "pre", "tr", "dt", "dd", "blockquote")
    sections = Sections()
    headers: dict[int, list[str]] = {}  # per table: its header row (th cells)
    for el in soup.find_all(blocks):
        if any(parent.name in blocks for parent in el.parents):
            continue
        text = el.get_text(" ", strip=True)
        if not text:
            continue
        if el.name in ("h1", "h2", "h3", "h4"):
            sections.heading(int(el.name[1]), text)
        elif el.name == "tr":
            table = el.find_parent("table")
            cells = [c.get_text(" ", strip=True) for c in el.find_all(["th", "td"])]
            if el.find("td") is None and table is not None:
                headers[id(table)] = cells  # a header row: its names go with every following row
                continue
            header = headers.get(id(table), []) if table is not None else []
            sections.line(row_line(header, cells) if header else " | ".join(cells))
        else:
            sections.line(text)
    docs = sections.done()
    title = soup.title.get_text(strip=True) if soup.title else ""
    return LoadedFile(docs, {"title": title} if title else {})


_LOADERS: dict[str, Callable[[Path, bytes], LoadedFile]] = {
    ".txt": _load_txt, ".text": _load_txt, ".log": _load_txt,
    ".md": _load_md, ".markdown": _load_md,
    ".csv": _load_csv, ".tsv": _load_csv,
    ".xlsx": _load_xlsx, ".xlsm": _load_xlsx,
    ".docx": _load_docx,
    ".pdf": _load_pdf,
    ".html": _load_html, ".htm": _load_html,
}
SUPPORTED_SUFFIXES = frozenset(_LOADERS)


def load_file(path: Path, raw: bytes) -> LoadedFile:
    """Parse ``raw`` (the bytes of ``path``) by suffix. Raises ``DataError`` for empty or unreadable input."""
    loader = _LOADERS.get(path.suffix.lower())
    if loader is None:
        raise DataError(f"unsupported file type {path.suffix or '(none)'!r}", file=str(path),
                        hint=f"supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}")
    if not raw.strip():
        raise DataError("file is empty", file=str(path), hint="remove it or add content")
    loaded = loader(path, raw)
    if not any(d.page_content.strip() for d in loaded.sections):
        raise DataError("file has no text", file=str(path), hint="remove it or add content")
    return loaded
