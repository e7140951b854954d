"""One-shot ingest and inspection of an export file: read -> map -> validate -> store + quarantine.

Counts: ``total`` data rows = ``accepted`` + ``quarantined``; ``accepted`` = ``inserted`` (new) + ``replaced``
(a conflict settled by ``on_conflict: replace``) + ``duplicates`` (stored unchanged: a re-ingest or an overlapping
export). ``quarantined`` = rows with a bad value + conflicts kept out by ``on_conflict: quarantine``. Every
conflict is listed in ``conflict_list`` with both versions, whatever the policy. Blank lines are counted, not
records. A file no mapping covers is refused unless a kind is given (then every required field must be found).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from factorypilot.connectors.mes._aliases import auto_columns, guess_kind
from factorypilot.connectors.mes._b2mml import NO_SCHEMAS, read_b2mml
from factorypilot.connectors.mes._json import read_json
from factorypilot.connectors.mes._lines import FileLines
from factorypilot.connectors.mes._store import MesStore, Upsert
from factorypilot.connectors.mes._tabular import (
    Deferred,
    FileInfo,
    PieceError,
    Progress,
    RawBatch,
    read_csv,
    sniff_csv,
)
from factorypilot.connectors.mes._validate import RECORD, ROW, Checked, check
from factorypilot.connectors.mes._xlsx import read_xlsx
from factorypilot.connectors.mes.config import MappingConfig, MesFilesConfig
from factorypilot.connectors.mes.records import FIELDS, RecordKind
from factorypilot.errors import DataError

__all__ = ["IngestReport", "detect_format", "ingest_file", "plan_file"]

_FORMATS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".json": "json",
            ".jsonl": "json", ".ndjson": "json", ".xml": "b2mml"}


def _workers(cfg: MesFilesConfig) -> int:
    """Parse/validate threads: the configured number, else the CPUs this process may use (at most 8)."""
    if cfg.workers is not None:
        return cfg.workers
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 2)
    return max(1, min(8, usable))


@dataclass
class IngestReport:
    file: str
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    detail: str = ""
    kinds: list[str] = field(default_factory=list)
    total: int = 0
    accepted: int = 0
    quarantined: int = 0
    inserted: int = 0
    replaced: int = 0
    duplicates: int = 0
    conflicts: int = 0
    blank_lines: int = 0
    quarantine_file: str | None = None
    sha256: str = ""
    dry_run: bool = False
    on_conflict: str = "quarantine"
    schema_valid: bool | None = None
    """B2MML validated against ``schema_dir``: the verdict (None: not validated). Invalid files are ingested."""
    schema_violations: list[str] = field(default_factory=list)
    schema_note: str = ""
    """Why a B2MML file got no verdict (no schemas found), and how to point at them."""
    conflict_list: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def detect_format(path: Path) -> str:
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt:
        return fmt
    with path.open("rb") as fh:
        head = fh.read(64).lstrip(b"\xef\xbb\xbf \r\n\t")
    if head.startswith(b"<"):
        return "b2mml"
    if head.startswith((b"{", b"[")):
        return "json"
    if head.startswith(b"PK"):
        return "xlsx"
    return "csv"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class _Plan:
    info: FileInfo
    streams: list[tuple[RecordKind, MappingConfig, dict[str, str], Iterator[RawBatch | Deferred]]]


def plan_file(path: Path, cfg: MesFilesConfig, kind: RecordKind | None, progress: Progress | None,
          strict: bool = True) -> _Plan:
    if not path.is_file():
        raise DataError("no such file", file=str(path), hint="check the path")
    fmt = detect_format(path)
    size_mb = path.stat().st_size / 1e6
    streamed = fmt in ("csv", "xlsx") or path.suffix.lower() in (".jsonl", ".ndjson")
    if not streamed and size_mb > cfg.max_document_mb:
        raise DataError(f"{fmt} file of {size_mb:.0f} MB is over the {cfg.max_document_mb:g} MB limit for "
                        "documents read whole", file=str(path),
                        hint="raise max_document_mb in the config, or export CSV, XLSX or JSON Lines (streamed)")
    if fmt == "b2mml":
        info, batches = read_b2mml(path, cfg.b2mml_schemas(), tuple(cfg.b2mml_scrap_ids))
        streams: list[tuple[RecordKind, MappingConfig, dict[str, str], Iterator[RawBatch | Deferred]]] = []
        for k, batch in batches.items():
            m = cfg.mapping_for(path, k) or MappingConfig(kind=k)
            streams.append((k, m, {c: c for c in batch.table.column_names if c != "b2mml"}, iter([batch])))
        return _Plan(info, streams)
    found = cfg.mapping_for(path, kind)
    if found is None and kind is None and strict:
        raise DataError("no mapping covers this file, so nothing is stored (a guess could store the wrong kind) / "
                        "이 파일에 맞는 매핑이 없어 저장하지 않습니다", file=str(path),
                        hint=f"run `factorypilot mes init-mapping {path.name} > mapping.yaml`, check it and pass "
                             "--config mapping.yaml; or pass --kind (every required field must then be found)")
    mapping = found or MappingConfig(kind=kind)
    if fmt == "csv":
        info = sniff_csv(path, mapping)
        batches_it: Iterator[RawBatch | Deferred] | None = None
    elif fmt == "xlsx":
        info, batches_it = read_xlsx(path, mapping, cfg, progress)
    else:
        info, batches_it = read_json(path, mapping, cfg, progress)
    chosen = kind or mapping.kind or guess_kind(info.columns)
    if chosen is None:
        raise DataError(f"cannot tell which record kind the columns {info.columns} are", file=str(path),
                        hint="add a mapping with `kind` and `columns` to the config, or pass --kind"
                        + (f"; only one column was found — is the delimiter {info.delimiter!r} right?"
                           if len(info.columns) == 1 else ""))
    if chosen is not mapping.kind:
        mapping = mapping.model_copy(update={"kind": chosen})
    missing_cols = [c for c in mapping.columns if c not in info.columns]
    if missing_cols and fmt != "json":  # JSON keys are optional per record
        raise DataError(f"the mapping names columns the file does not have: {missing_cols}", file=str(path),
                        hint=f"columns in the file: {info.columns}")
    cols = auto_columns(info.columns, chosen, mapping.columns)
    got = set(cols.values()) | set(mapping.constants)
    missing = [f for f, (_, req) in FIELDS[chosen].items() if req and f not in got]
    if missing and (fmt != "json" or info.columns):  # an empty JSON document has nothing to map
        raise DataError(f"required {chosen.value} fields {missing} are not mapped from columns {info.columns}",
                        file=str(path),
                        hint="map them under `columns` in the mapping (source column: canonical field)"
                        + (f"; only one column was found — is the delimiter {info.delimiter!r} right?"
                           if len(info.columns) == 1 else ""))
    if batches_it is None:
        batches_it = read_csv(path, mapping, cfg, info, progress)
    return _Plan(info, [(chosen, mapping, cols, batches_it)])


def rename(batch: RawBatch, cols: dict[str, str]) -> pa.Table:
    present = [c for c in cols if c in batch.table.column_names]
    return batch.table.select(present).rename_columns([cols[c] for c in present])


def extra_columns(batch: RawBatch, cols: dict[str, str]) -> pa.Table:
    return batch.table.select([c for c in batch.table.column_names if c not in cols])


def _work(item: RawBatch | Deferred, cols: dict[str, str], kind: RecordKind, mapping: MappingConfig,
          cfg: MesFilesConfig, file: str, sources: dict[str, str]) -> tuple[RawBatch, Checked | None]:
    """Parse (if still to be parsed) and validate one batch: what each worker thread does."""
    batch = item if isinstance(item, RawBatch) else item()
    if not len(batch.rows):
        return batch, None
    return batch, check(rename(batch, cols), batch.rows, kind, mapping, cfg, file, sources, extra_columns(batch, cols))


def structural(entries: list[dict[str, Any]], first: int) -> list[dict[str, Any]]:
    """Reader rejects (wrong number of fields, ...) in the quarantine entry layout: row = record, line."""
    for e in entries:
        if "line" not in e:
            e["line"] = e["row"]
            e["row"] = None if e["row"] is None else e["row"] - first
            e.setdefault("code", "bad_field_count")
    return entries


def _physical(batch: RawBatch, checked: Checked | None, file_lines: FileLines) -> None:
    """Record lines -> physical start lines (quoted cells spanning lines), keeping the record numbers."""
    first = file_lines.first
    for e in batch.rejects:
        if e.get("row") is not None and "line" not in e:
            e["line"] = int(file_lines.lines(np.array([e["row"]]))[0])
            e["row"] -= first
    if checked is None:
        return
    at = checked.table.schema.get_field_index(ROW)
    fixed = file_lines.lines(checked.table[ROW].to_numpy())
    checked.table = checked.table.set_column(at, ROW, pa.array(fixed, pa.int64()))
    if checked.quarantined is not None:
        checked.quarantined.records = checked.quarantined.rows - first
        checked.quarantined.rows = file_lines.lines(checked.quarantined.rows)


def _conflict_entry(c: dict[str, Any], file: str, file_lines: FileLines) -> dict[str, Any]:
    return {"file": file, "row": file_lines.record_of(c["row"]), "line": c["row"], "column": None, "field": None,
            "value": None, "expected": "the stored values or a new key", "code": "conflict",
            "reason": f"conflict: key {c['key']} is stored with other values ({', '.join(c['differs'])}) / "
                      "같은 키에 다른 값", "key": c["key"], "against": c["against"], "stored": c["stored"],
            "incoming": c["incoming"], "differs": c["differs"], "action": c["action"]}


def renumber(batch: RawBatch, checked: Checked | None, before: int) -> None:
    """Make a piece's relative row numbers absolute: add the file's lines before the piece."""
    if not before:
        return
    batch.rows = pc.add(batch.rows, before)
    for entry in batch.rejects:
        if entry["row"] is not None:
            entry["row"] += before
    if checked is not None:
        at = checked.table.schema.get_field_index(ROW)
        checked.table = checked.table.set_column(at, ROW, pc.add(checked.table[ROW], before))
        if checked.quarantined is not None:
            checked.quarantined.rows = checked.quarantined.rows + before


class _Quarantine:
    """One JSONL file per (file path, file content): re-ingesting the same export rewrites its quarantine file
    instead of adding a second copy of the same rejected rows; a changed export gets a new file."""

    def __init__(self, cfg: MesFilesConfig, path: Path, sha256: str) -> None:
        tag = hashlib.sha256(f"{path.resolve()}\n{sha256}".encode()).hexdigest()[:16]
        self.path = cfg.mes_home() / "quarantine" / cfg.source / f"{path.name}.{tag}.jsonl"
        self._fh: Any = None

    def write(self, entries: Iterable[dict[str, Any]]) -> None:
        for e in entries:
            if self._fh is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fh = self.path.open("w", encoding="utf-8")
            self._fh.write(json.dumps(e, ensure_ascii=False, default=str) + "\n")

    def close(self) -> str | None:
        if self._fh is None:
            return None
        self._fh.close()
        return str(self.path)


def ingest_file(path: Path, cfg: MesFilesConfig, store: MesStore | None, *, kind: RecordKind | None = None,
                progress: Progress | None = None, dry_run: bool = False) -> IngestReport:
    """Ingest one file (blocking; run it in a worker thread). ``store=None`` validates only; ``dry_run``
    compares with the store and reports what would be stored, replaced and quarantined, storing nothing."""
    path = Path(path)
    plan = plan_file(path, cfg, kind, progress)
    info = plan.info
    report = IngestReport(file=str(path), format=info.format, encoding=info.encoding, delimiter=info.delimiter,
                          detail=info.detail, kinds=[k.value for k, *_ in plan.streams], dry_run=dry_run,
                          schema_valid=info.verdict.get("schema_valid"),
                          schema_violations=list(info.verdict.get("schema_violations", [])),
                          schema_note=NO_SCHEMAS if info.format == "b2mml" and not info.verdict else "")
    if store is not None:
        report.sha256 = _sha256(path)
    quarantine = _Quarantine(cfg, path, report.sha256) if store is not None and not dry_run else None
    try:
        # workers parse (CSV pieces) and validate batches while this thread reads ahead and one writer stores
        # validated batches: Arrow kernels and SQLite release the GIL, so the work overlaps. Results are settled
        # and stored in file order; a bounded number of batches is in flight, so memory stays bounded
        workers = _workers(cfg)
        with (ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mes-validate") as pool,
              ThreadPoolExecutor(max_workers=1, thread_name_prefix="mes-store") as writer):
            stored: deque[Future[Upsert]] = deque()

            first = [0]

            def count(up: Upsert, policy: str, file_lines: FileLines) -> None:
                report.inserted += up.inserted
                report.replaced += up.replaced
                report.duplicates += up.duplicates
                report.conflicts += up.n_conflicts
                entries = [_conflict_entry(c, str(path), file_lines) for c in up.conflicts]
                report.conflict_list += entries[: max(0, 1000 - len(report.conflict_list))]
                if policy == "quarantine":
                    report.accepted -= up.n_conflicts
                    report.quarantined += up.n_conflicts
                    if quarantine:
                        quarantine.write(entries)

            for k, mapping, cols, batches in plan.streams:
                sources = {v: s for s, v in cols.items()}
                first[0] = mapping.skip_rows + mapping.header_rows if info.format in ("csv", "xlsx") else 0
                report.on_conflict = mapping.on_conflict
                key = tuple(mapping.key) if mapping.key else None
                pending: deque[Future[tuple[RawBatch, Checked | None]]] = deque()
                lines = [0]  # record lines before the next batch with relative row numbers
                file_lines = FileLines(first[0])

                def settle(fut: Future[tuple[RawBatch, Checked | None]], k: RecordKind = k, lines: list[int] = lines,
                           file_lines: FileLines = file_lines, mapping: MappingConfig = mapping,
                           key: tuple[str, ...] | None = key) -> None:
                    try:
                        batch, checked = fut.result()
                    except PieceError as exc:  # only here are the lines before the piece known
                        raise exc.at(lines[0], first[0]) from exc.__cause__
                    if batch.lines is not None:
                        lines[0] += batch.base
                        renumber(batch, checked, lines[0])
                        if batch.multiline is not None:
                            file_lines.add(lines[0] - file_lines.first, *batch.multiline)
                        lines[0] += batch.lines
                    elif batch.multiline is not None:  # one stream (UTF-16 ...): the whole file's, absolute
                        file_lines.add(0, *batch.multiline)
                    if checked is not None and store is not None:  # record numbers, before the lines turn physical
                        checked.table = checked.table.append_column(
                            RECORD, pc.subtract(checked.table[ROW], pa.scalar(first[0], pa.int64())))
                    if file_lines:
                        _physical(batch, checked, file_lines)
                    report.blank_lines += batch.blank
                    report.quarantined += len(batch.rejects)
                    if quarantine:
                        quarantine.write(structural(batch.rejects, first[0]))
                    if checked is None:
                        return
                    report.accepted += checked.table.num_rows
                    report.quarantined += checked.rejected
                    if checked.quarantined is not None:
                        checked.quarantined.first_line = first[0]
                        if quarantine:
                            quarantine.write(checked.quarantined)
                    if store is not None:
                        stored.append(writer.submit(store.upsert, k, checked.table, str(path), key=key,
                                                    on_conflict=mapping.on_conflict, dry_run=dry_run))
                        while len(stored) > 1:
                            count(stored.popleft().result(), mapping.on_conflict, file_lines)

                for item in batches:
                    pending.append(pool.submit(_work, item, cols, k, mapping, cfg, str(path), sources))
                    while len(pending) > workers:
                        settle(pending.popleft())
                while pending:
                    settle(pending.popleft())
                while stored:
                    count(stored.popleft().result(), mapping.on_conflict, file_lines)
    finally:
        if quarantine:
            report.quarantine_file = quarantine.close()
        if store is not None and dry_run:
            store.end_dry_run()
    report.total = report.accepted + report.quarantined
    if store is not None and not dry_run:
        store.log_ingest(str(path), report.sha256, info.format, info.encoding, report.as_dict())
    return report
