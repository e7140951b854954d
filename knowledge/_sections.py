"""Section structure for the loaders: heading paths, headings found in plain text, and table rows that keep
their column names (a row cut away from its header row means nothing to a reader or to BM25).

- ``Sections``: collects ``(heading path, body lines)`` while a loader walks a document in order; each flushed
  section becomes one ``Document`` with ``section = "H1 > H2 > H3"``.
- ``txt_heading``: the heading level of a plain-text line, or 0 — ALL-CAPS lines ("ROOT CAUSE"), short numbered
  lines ("3. 미생물 시험", "2.1 Die preheating") and short bracket-led lines ("[MC-33] 2025-01-20").
- ``log_row``: the title of a dated row of a log or a MES export ("2026.01.09  2호기  ［고장］ E-217 …" →
  "2026.01.09 2호기"), or None: each row is a section of its own under the current heading, so a hit is cited by
  its date (and machine) and a row is not cut in the middle. A rule line (``----``) ends the rows.
- ``txt_title``: a plain-text document's first line, when it reads as a title, heads every section path (as a
  Markdown ``#`` title does), so a file without headings is still cited by more than its name.
- ``row_line``: a table row as ``column: value; column: value``.
- ``markdown_tables``: Markdown pipe tables rewritten row by row with ``row_line``.
"""

from __future__ import annotations

import re

from langchain_core.documents import Document

__all__ = ["ROW_LEVEL", "Sections", "is_rule", "log_row", "markdown_tables", "row_line", "txt_heading", "txt_title"]

_CAPS = re.compile(r"^[A-Z][A-Z0-9 &/,()'-]{3,79}$")
_NUMBERED = re.compile(r"^(\d{1,2})((?:\.\d{1,2}){0,2})\.?\s+\S.{0,50}$")
_BRACKET = re.compile(r"^\[[^\]]{1,40}\](?:\s.{0,40})?$")
_DATED = re.compile(r"^(\d{4}[.\-/]\d{1,2}[.\-/]\d{1,2})(?:\s+|$)")
_RULE = re.compile(r"^\s*[-=_─━]{10,}\s*$")
ROW_LEVEL = 4  # below every heading level txt_heading gives
_SENTENCE_END = re.compile(r"[.:;,]\s*$|(?:니다|한다|된다|이다|해요|세요)\.?\s*$")


def txt_heading(line: str) -> int:
    """1-3 for a heading line of a plain-text document, 0 for body text."""
    s = line.strip()
    if not s or len(s) > 80:
        return 0
    if _CAPS.match(s) and sum(c.isalpha() for c in s) >= 3:
        return 1
    m = _NUMBERED.match(s)
    if m and not _SENTENCE_END.search(s):
        return 1 + m.group(2).count(".")
    if _BRACKET.match(s):
        return 2
    return 0


def log_row(line: str) -> str | None:
    """``date`` or ``date column`` for a line that starts with a date (ISO or Korean ``2026.01.09`` style); the
    second column counts when the row is laid out in columns (two or more spaces) and it is short (a machine:
    ``2호기``, ``MC-34``)."""
    m = _DATED.match(line)
    if m is None:
        return None
    rest = line[m.end():]
    token = rest.split(maxsplit=1)[0] if rest.strip() else ""
    columns = re.match(r"\s{2,}", line[m.end(1):]) is not None
    if columns and token and len(token) <= 10 and any(c.isdigit() for c in token):
        return f"{m.group(1)} {token}"
    return m.group(1)


def txt_title(line: str) -> str | None:
    """The title of a plain-text document from its first line, when that line reads as one (short, not a
    sentence): its first column, without a leading bullet (``■ 용접셀 정비이력 조회 (MES 출력)  출력일시: …`` →
    ``용접셀 정비이력 조회 (MES 출력)``)."""
    s = line.strip()
    if not s or len(s) > 100 or _SENTENCE_END.search(s) or _DATED.match(s):
        return None
    title = re.split(r"\s{2,}", s.lstrip("■□●○◆◇▶▷*#- ").strip(), maxsplit=1)[0].strip()
    return title if 2 <= len(title) <= 80 else None


def is_rule(line: str) -> bool:
    """A horizontal rule of a text export (``-----``, ``=====``, box-drawing lines)."""
    return bool(_RULE.match(line))


def row_line(header: list[str], cells: list[str]) -> str:
    """``column: value; ...`` (columns without a name are ``colN``; empty cells are left out)."""
    pairs = [f"{header[i] if i < len(header) and header[i] else f'col{i + 1}'}: {c.strip()}"
             for i, c in enumerate(cells) if c.strip()]
    return "; ".join(pairs)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def markdown_tables(text: str) -> str:
    """Pipe tables (header, ``|---|`` rule, rows) become one ``row_line`` per row; other lines are kept."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.lstrip().startswith("|") and re.match(r"^\s*\|?\s*:?-{3,}", nxt):
            header = _cells(line)
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                out.append(row_line(header, _cells(lines[i])))
                i += 1
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


class Sections:
    """Heading path + body lines, flushed into ``Document``s in document order."""

    def __init__(self) -> None:
        self.docs: list[Document] = []
        self._stack: list[tuple[int, str]] = []  # (level, heading) from the outermost in
        self.body: list[str] = []

    @property
    def heads(self) -> list[str]:
        return [h for _, h in self._stack]

    def heading(self, level: int, text: str, title: str | None = None) -> None:
        """A heading of ``level``: it replaces the current heading of the same or a deeper level. ``title`` names
        the section in the path when the line itself is longer (a log row)."""
        self.close(level)
        self._stack.append((level, (title or text).strip()))
        self.body.append(text.strip())

    def close(self, level: int) -> None:
        """End the sections of ``level`` and deeper: what follows belongs to the heading above them."""
        self.flush()
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()

    def line(self, text: str) -> None:
        self.body.append(text)

    def flush(self, last: bool = False) -> None:
        lines = [b for b in self.body if b.strip()]
        heading_only = bool(self._stack) and len(lines) == 1 and lines[0].strip() == self._stack[-1][1]
        # a heading followed directly by a sub-heading lives on in the path; a document that is only a heading is kept
        if lines and (not heading_only or (last and not self.docs)):
            self.docs.append(Document(page_content="\n".join(self.body).strip("\n"),
                                      metadata={"section": " > ".join(self.heads)}))
        self.body.clear()

    def done(self) -> list[Document]:
        self.flush(last=True)
        return self.docs
