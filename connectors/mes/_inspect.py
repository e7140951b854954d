"""``mes inspect``: what the connector sees in a file and what the mapping (or the proposal, without one) makes of
its first rows — nothing stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factorypilot.connectors.mes._aliases import kind_scores
from factorypilot.connectors.mes._ingest import extra_columns, plan_file, rename, renumber, structural
from factorypilot.connectors.mes._propose import discover, propose
from factorypilot.connectors.mes._tabular import PieceError, RawBatch
from factorypilot.connectors.mes._validate import ROW, check
from factorypilot.connectors.mes.config import MesFilesConfig
from factorypilot.connectors.mes.records import FIELDS, RecordKind

__all__ = ["InspectReport", "inspect_file"]


@dataclass
class InspectReport:
    file: str
    format: str
    encoding: str | None
    delimiter: str | None
    detail: str
    columns: list[str]
    kind: str | None
    mapping: dict[str, str]
    unmapped: list[str]
    missing_required: list[str]
    preview: list[dict[str, Any]]
    records: list[dict[str, Any]]
    problems: list[dict[str, Any]]
    accepted: int
    quarantined: int
    confidence: dict[str, float] = field(default_factory=dict)
    """source column -> confidence of its proposed field (0-1)."""
    kind_scores: dict[str, float] = field(default_factory=dict)
    mapping_named: bool = False
    """True when a mapping of the config covers the file (otherwise the kind and mapping are proposals)."""



def inspect_file(path: Path, cfg: MesFilesConfig, *, kind: RecordKind | None = None,
                 rows: int = 5) -> InspectReport:
    """What the connector sees in a file and what the mapping would make of its first rows (nothing stored)."""
    path = Path(path)
    small = cfg.model_copy(update={"batch_rows": max(rows, 200)})
    plan = plan_file(path, small, kind, None, strict=False)
    k, mapping, cols, batches = plan.streams[0]
    item = next(batches, None)
    try:
        batch = item if item is None or isinstance(item, RawBatch) else item()
    except PieceError as exc:  # the first piece: nothing before it
        raise exc.at(0, mapping.skip_rows + mapping.header_rows) from exc.__cause__
    if batch is not None and batch.lines is not None:
        renumber(batch, None, batch.base)
    preview: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    accepted = quarantined = 0
    if batch is not None:
        preview = batch.table.slice(0, rows).to_pylist()
        problems = list(batch.rejects)
        if len(batch.rows):
            checked = check(rename(batch, cols), batch.rows, k, mapping, small, str(path),
                            {v: s for s, v in cols.items()}, extra_columns(batch, cols))
            accepted = checked.table.num_rows
            records = [{("line" if k == ROW else k): v for k, v in r.items()}
                       for r in checked.table.slice(0, rows).to_pylist()]
            first = mapping.skip_rows + mapping.header_rows if plan.info.format in ("csv", "xlsx") else 0
            problems = structural(problems, first)
            if checked.quarantined is not None:
                checked.quarantined.first_line = first
                problems += list(checked.quarantined)
        quarantined = len(problems)
    columns = plan.info.columns or (list(batch.table.column_names) if batch is not None else [])
    sample = batch.table.slice(0, 200).to_pylist() if batch is not None else []
    if not mapping.columns:  # a proposal: columns no header names may still be named by their values
        cols = {**cols, **discover(k, cols, columns, sample, cfg.shifts)}
    got = set(cols.values()) | set(mapping.constants)
    return InspectReport(
        confidence=propose(k, cols, mapping.columns, sample, cfg.shifts),
        kind_scores={kk.value: round(v, 2) for kk, v in kind_scores(columns).items()},
        mapping_named=cfg.mapping_for(path, kind) is not None,
        file=str(path), format=plan.info.format, encoding=plan.info.encoding, delimiter=plan.info.delimiter,
        detail=plan.info.detail, columns=columns, kind=k.value, mapping=cols,
        unmapped=[c for c in columns if c not in cols],
        missing_required=[f for f, (_, req) in FIELDS[k].items() if req and f not in got],
        preview=preview, records=records, problems=problems[:20], accepted=accepted, quarantined=quarantined)
