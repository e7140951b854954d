"""Section structure for the loaders: heading paths, headings found in plain text, and table rows that keep
their column names (a row cut away from its header row means nothing to a reader or to BM25).

- ``Sections``: collects ``(heading path, body lines)`` while a loader walks a document in order; each flushed
  section becomes one ``Document`` with ``section = "H1 > H2 > H3"``.
- ``txt_heading``: the heading level of a plain-text line, or 0 — ALL-CAPS lines ("ROOT CAUSE"), short numbered
  lines ("3. 미생물 시험", "2.1 Die preheating") and short bracket-led lines ("[MC-33] 2025-01-20").
- ``row_line``: a table row as ``column: value; column: value``.
- ``markdown_tables``: Markdown pipe tables rewritten row by row with ``row_line``.
"""

from __future__ import annotations

import re

from langchain_core.documents import Document

__all__ = ["Sections", "markdown_tables", "row_line", "txt_heading"]

_CAPS = re.compile(r"^[A-Z][A-Z0-9 &/,()'-]{3,79}$")
_NUMBERED = re.compile(r"^(\d{1,2})((?:\.\d{1,2}){0,2})\.?\s+\S.{0,50}$")
_BRACKET = re.compile(r"^\[[^\]]{1,40}\](?:\s.{0,40})?$")
_SENTENCE_END = re.compile(r"[.:;,]\s*$|(?:니다|한다|된다|이다|해요|세요)\.?\s*$")


def txt_heading(line: str) -> int:
    """1-3 for a heading line of a plain-text document, 0 for body text."""
    s = line.strip()
    if not s or len(s) > 80:
        return 0
    if _CAPS.match(s) and sum(c.isalpha() for c in s) >= 4:
        return 1
    m = _NUMBERED.match(s)
    if m and not _SENTENCE_END.search(s):
        return 1 + m.group(2).count(".")
    if _BRACKET.match(s):
        return 2
    return 0


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

    def heading(self, level: int, text: str) -> None:
        """A heading of ``level``: it replaces the current heading of the same or a deeper level."""
        self.flush()
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, text.strip()))
        self.body.append(text.strip())

    def line(self, text: str) -> None:
        self.body.append(text)

    def flush(self) -> None:
        lines = [b for b in self.body if b.strip()]
        heading_only = bool(self.heads) and len(lines) == 1 and lines[0].strip() == self.heads[-1]
        if lines and not heading_only:  # a heading followed directly by a sub-heading lives on in the path
            self.docs.append(Document(page_content="\n".join(self.body).strip("\n"),
                                      metadata={"section": " > ".join(self.heads)}))
        self.body.clear()

    def done(self) -> list[Document]:
        self.flush()
        return self.docs
