"""JSON and JSON Lines readers: records (objects) in, string columns out; bad lines become quarantine entries."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from factorypilot.connectors.mes._encoding import detect, normalise
from factorypilot.connectors.mes._tabular import FileInfo, Progress, RawBatch, short
from factorypilot.connectors.mes.config import MappingConfig, MesFilesConfig
from factorypilot.errors import DataError


def _depth(obj: object, limit: int) -> int:
    stack: list[tuple[object, int]] = [(obj, 1)]
    deepest = 0
    while stack:
        cur, d = stack.pop()
        deepest = max(deepest, d)
        if deepest > limit:
            return deepest
        if isinstance(cur, dict):
            stack.extend((v, d + 1) for v in cur.values())
        elif isinstance(cur, list):
            stack.extend((v, d + 1) for v in cur)
    return deepest


def _scalar(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def _reject(file: str, row: int, line: str, expected: str, reason: str) -> dict[str, Any]:
    return {"file": file, "row": row, "column": None, "field": None, "value": line[:200], "expected": expected,
            "reason": reason, "problems": [], "raw": {}}


_Item = tuple[int, dict[str, Any] | None, dict[str, Any] | None]
"""(row, the record or None, the quarantine entry or None)."""


def _record(obj: object, row: int, line: str, file: str, depth: int) -> _Item:
    if not isinstance(obj, dict):
        return row, None, _reject(file, row, line, "JSON object", f"a {type(obj).__name__}, not an object")
    if _depth(obj, depth) > depth:
        return row, None, _reject(file, row, line, f"nesting depth <= {depth}", "nested too deeply")
    return row, obj, None


def _json_lines(path: Path, encoding: str, file: str, depth: int,
                tell: Callable[[int], None] | None = None) -> Iterator[_Item]:
    """One item per non-blank line, read line by line (memory stays bounded); ``tell`` gets bytes read."""
    with path.open("rb") as raw, io.TextIOWrapper(raw, encoding=encoding, newline=None) as fh:
        n = 0
        try:
            for n, line in enumerate(fh, start=1):
                if tell is not None and n % 4096 == 0:
                    tell(raw.tell())
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except (json.JSONDecodeError, RecursionError) as exc:
                    yield n, None, _reject(file, n, line, "JSON object", f"invalid JSON: {short(exc)}")
                    continue
                yield _record(obj, n, line, file, depth)
        except UnicodeDecodeError as exc:
            raise DataError(f"not valid {encoding} text after line {n}: {short(exc)}", file=file, row=n + 1,
                            hint="set `encoding` in the mapping") from exc
        if tell is not None:
            tell(raw.tell())


def _json_batches(items: Iterator[_Item], columns: list[str],
                  batch_rows: int) -> Iterator[RawBatch]:
    records: list[tuple[int, dict[str, Any]]] = []
    rejects: list[dict[str, Any]] = []

    def flush() -> RawBatch:
        cols = {c: pa.array([_scalar(o.get(c)) for _, o in records], pa.string()) for c in columns}
        return RawBatch(pa.table(cols) if cols else pa.table({}), pa.array([n for n, _ in records], pa.int64()),
                        list(rejects))

    for n, obj, reject in items:
        if obj is not None:
            records.append((n, obj))
        if reject is not None:
            rejects.append(reject)
        if len(records) + len(rejects) >= batch_rows:
            yield flush()
            records.clear()
            rejects.clear()
    if records or rejects:
        yield flush()


def read_json(path: Path, mapping: MappingConfig, cfg: MesFilesConfig,
              progress: Progress | None = None) -> tuple[FileInfo, Iterator[RawBatch]]:
    """JSON Lines are streamed in two passes (the first collects the keys, so every batch has the same
    columns; ``progress`` counts each pass as half the file); a JSON document is parsed whole (its size is
    bounded by ``max_document_mb``) and reports progress once, at the end."""
    file = str(path)
    with path.open("rb") as fh:
        head = fh.read(65536)
    encoding = normalise(mapping.encoding) if mapping.encoding else detect(head, file)
    columns: list[str] = []
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        size = path.stat().st_size

        def half(offset: int) -> Callable[[int], None] | None:  # each pass reports half of the file
            if progress is None:
                return None
            report = progress
            return lambda b: report(size if offset and b >= size else offset + min(size, b) // 2)

        first, second = half(0), half(size // 2)
        seen: dict[str, None] = {}
        for _, obj, _ in _json_lines(path, encoding, file, cfg.max_json_depth, first):
            if obj is not None:
                seen.update(dict.fromkeys(map(str, obj)))
        columns = list(seen)
        return (FileInfo("jsonl", encoding, None, columns),
                _json_batches(_json_lines(path, encoding, file, cfg.max_json_depth, second), columns,
                              cfg.batch_rows))
    try:
        text = path.read_text(encoding=encoding)
    except UnicodeDecodeError as exc:
        raise DataError(f"not valid {encoding} text: {short(exc)}", file=file,
                        hint="set `encoding` in the mapping") from exc
    try:
        doc = json.loads(text)
    except RecursionError as exc:
        raise DataError("JSON nested too deeply", file=file, hint="flatten the export") from exc
    except json.JSONDecodeError as exc:
        raise DataError(f"invalid JSON: {exc.msg}", file=file, row=exc.lineno,
                        hint="is the file truncated? JSON Lines files need the .jsonl extension") from exc
    if _depth(doc, cfg.max_json_depth + 2) > cfg.max_json_depth + 2:
        raise DataError(f"JSON nested deeper than {cfg.max_json_depth}", file=file, hint="flatten the export")
    if isinstance(doc, dict):
        key = mapping.records_key or next((k for k, v in doc.items() if isinstance(v, list)), None)
        if key is None or not isinstance(doc.get(key), list):
            raise DataError("no list of records found in the JSON object", file=file,
                            hint="set `records_key` in the mapping")
        doc = doc[key]
    if not isinstance(doc, list):
        raise DataError("the JSON document is not a list of records", file=file, hint="export a list")
    items = [_record(obj, i, json.dumps(obj, ensure_ascii=False)[:200], file, cfg.max_json_depth)
             for i, obj in enumerate(doc, start=1)]
    seen_doc: dict[str, None] = {}
    for _, obj, _ in items:
        if obj is not None:
            seen_doc.update(dict.fromkeys(map(str, obj)))
    columns = list(seen_doc)
    if progress is not None:
        progress(path.stat().st_size)
    return FileInfo("json", encoding, None, columns), _json_batches(iter(items), columns, cfg.batch_rows)
