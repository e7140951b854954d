"""Differential test: parsing a CSV in pieces gives exactly what one pyarrow stream gives, for any input."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from factorypilot.connectors.mes._tabular import FileInfo, RawBatch, _layout, _read_pieces, _read_stream
from factorypilot.connectors.mes.config import MesFilesConfig
from factorypilot.errors import DataError

_ALPHABET = st.sampled_from(["a", "b", ",", ",", '"', "\n", "\n", "\r", "\r\n", " ", "가", "1"])


def _outcome(batches: list[RawBatch]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], int]:
    """Accepted rows (line, cells), rejects (line, text) and blank lines, with pieces' rows made absolute."""
    rows: list[tuple[Any, ...]] = []
    rejects: list[tuple[Any, ...]] = []
    blank = 0
    lines = 0
    for b in batches:
        shift = 0
        if b.lines is not None:
            lines += b.base
            shift = lines
            lines += b.lines
        numbers = pc.add(b.rows, shift).to_pylist()
        rows += [(n, *r.values()) for n, r in zip(numbers, b.table.to_pylist(), strict=True)]
        rejects += [(e["row"] + shift if e["row"] is not None else None, e["value"]) for e in b.rejects]
        blank += b.blank
    return rows, rejects, blank


def _run(reader: Any) -> tuple[Any, ...]:
    try:
        return ("ok", _outcome([b if isinstance(b, RawBatch) else b() for b in reader]))
    except DataError:
        return ("error",)


@settings(max_examples=150, deadline=None)
@given(body=st.lists(_ALPHABET, max_size=120).map("".join), batch_rows=st.integers(1, 4))
def test_pieces_equal_one_stream(body: str, batch_rows: int) -> None:
    """Quotes across line ends, lone CRs, blank lines, rows of any width, tiny pieces: the same rows, rejects,
    line numbers and blank-line count (or the same refusal) as pyarrow reading the file as one stream."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.csv"
        header = "h1,h2,h3\n"
        path.write_bytes((header + body).encode("utf-8"))
        cfg = MesFilesConfig(home=Path(tmp), batch_rows=batch_rows)
        info = FileInfo("csv", "utf-8", ",", ["h1", "h2", "h3"])
        stream = _run(_read_stream(path, cfg, info, 1, None))
        layout = _layout(path, 1, "utf-8", batch_rows)
        assert layout is not None
        assert layout[0] == len(header)
        pieces = _run(_read_pieces(path, info, 1, *layout, None))
    assert pieces == stream
