"""Configuration of the MES export connector (pydantic, unknown keys rejected).

A ``MappingConfig`` says how one family of export files (matched by a file-name glob) becomes records of
one kind: source column -> canonical field, units/scale, timestamp formats and time zone (default
Asia/Seoul), and value enums such as Korean status words. Without a matching mapping the connector maps
columns by name using built-in English/Korean aliases (see ``_aliases.py``) — ``inspect`` shows the result.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from factorypilot.connectors.base import ConnectorConfig
from factorypilot.connectors.mes.records import FIELDS, STATUS_VALUES, RecordKind

__all__ = ["MappingConfig", "MesFilesConfig"]

DEFAULT_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M",
    "%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M", "%Y%m%d%H%M%S", "%Y-%m-%d", "%Y.%m.%d", "%Y/%m/%d", "%Y%m%d",
)

_ANY_FIELD = sorted({f for fields in FIELDS.values() for f in fields})


def _valid(kind: RecordKind | None) -> list[str]:
    return sorted(FIELDS[kind]) if kind is not None else _ANY_FIELD


def _refuse(what: str, names: list[str], kind: RecordKind | None, columns: dict[str, str] | None = None) -> None:
    valid = _valid(kind)
    bad = [n for n in names if n not in valid]
    if not bad:
        return
    hint = ""
    if columns:
        via = {n: columns[n] for n in bad if n in columns}
        if via:
            hint = f" ({', '.join(f'{k!r} is a source column; use its field {v!r}' for k, v in via.items())})"
    of = f"{kind.value} " if kind is not None else ""
    raise ValueError(f"{what}: unknown {of}field(s) {bad}{hint}. Valid fields / 가능한 필드: {', '.join(valid)}")


class MappingConfig(ConnectorConfig):
    """How files whose name matches ``pattern`` map to records of ``kind``."""

    kind: RecordKind | None = Field(default=None, description="record kind; guessed from the columns if unset")
    pattern: str = Field(default="*", description="glob on the file name, e.g. '생산실적_*.csv'")
    columns: dict[str, str] = Field(default_factory=dict,
                                    description="source column -> canonical field; unmapped columns use aliases")
    constants: dict[str, str] = Field(default_factory=dict, description="canonical field -> fixed value")
    timestamp_formats: list[str] = Field(default_factory=lambda: list(DEFAULT_TIME_FORMATS),
                                         description="strptime formats tried in order")
    timezone: str = Field(default="Asia/Seoul", description="time zone of naive timestamps in the export")
    enums: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="canonical field -> {export value: canonical value}; other values "
        "are quarantined")
    scale: dict[str, float] = Field(default_factory=dict, description="canonical field -> factor (unit change)")
    units: dict[str, str] = Field(default_factory=dict, description="canonical field -> unit (documentation)")
    encoding: str | None = Field(default=None, description="text encoding; detected when not set")
    delimiter: str | None = Field(default=None, description="CSV delimiter; sniffed when not set")
    sheet: str | None = Field(default=None, description="XLSX sheet name; the first sheet when not set")
    header_rows: int = Field(default=1, ge=1, le=5, description="header rows (merged header cells are joined)")
    skip_rows: int = Field(default=0, ge=0, description="rows before the header (titles, export banners)")
    records_key: str | None = Field(default=None, description="JSON: key of the record list in an object")
    key: list[str] | None = Field(default=None, description="natural key fields (default: the kind's, e.g. "
                                  "production: time, shift, equipment, product, order_id, lot_id)")
    on_conflict: Literal["quarantine", "replace"] = Field(
        default="quarantine", description="a row whose key is stored with other values: quarantine it (the stored "
        "version stays) or replace the stored one; both are listed in the ingest summary with both versions")
    required: list[str] = Field(default_factory=list, description="fields that must have a value in every row "
                                "(on top of the kind's own required fields)")

    @model_validator(mode="after")
    def _check_fields(self) -> MappingConfig:
        """``extra="forbid"`` all the way down: every field name must be a canonical field of the kind."""
        kind = self.kind
        _refuse("columns", list(self.columns.values()), kind)
        _refuse("enums", list(self.enums), kind, self.columns)
        _refuse("constants", list(self.constants), kind, self.columns)
        _refuse("scale", list(self.scale), kind, self.columns)
        _refuse("units", list(self.units), kind, self.columns)
        _refuse("required", self.required, kind, self.columns)
        _refuse("key", list(self.key or []), kind, self.columns)
        if self.key is not None and not self.key:
            raise ValueError("key: name at least one field, or leave `key` out for the kind's default")
        for field, values in self.enums.items():
            allowed = STATUS_VALUES.get(kind) if kind is not None and field == "status" else None
            wrong = sorted({v for v in values.values() if allowed is not None and v not in allowed})
            if allowed is not None and wrong:
                raise ValueError(f"enums.status: unknown value(s) {wrong}. Valid / 가능한 값: {', '.join(allowed)}")
        return self

    def matches(self, path: Path) -> bool:
        return fnmatch.fnmatch(path.name, self.pattern)


class MesFilesConfig(ConnectorConfig):
    """Config of the ``mes-files`` connector."""

    source: str = Field(default="default", pattern=r"^[\w.-]+$",
                        description="store name: records live in FACTORYPILOT_HOME/mes/<source>.sqlite")
    watch_dir: Path | None = Field(default=None, description="folder watched by `factorypilot mes watch`")
    mappings: list[MappingConfig] = Field(default_factory=list)
    schema_dir: Path | None = Field(default=None, description="B2MML XSDs (e.g. the MESA schemas); XML is "
                                    "validated and the verdict reported (schema_valid), never refused for it. "
                                    "Default: FACTORYPILOT_B2MML_SCHEMAS, else FACTORYPILOT_HOME/b2mml if it exists")
    b2mml_scrap_ids: list[str] = Field(
        default_factory=list, description="extra Quantity keys / ProductionData ids that count as scrap (built in: "
        "Scrap, ScrapQuantity, Reject, NG, 불량수량 ...)")
    home: Path | None = Field(default=None, description="overrides FACTORYPILOT_HOME/mes")
    shifts: dict[str, str] = Field(default_factory=lambda: {"A": "06:00", "B": "14:00", "C": "22:00"},
                                   description="shift name -> local start time (HH:MM)")
    shift_timezone: str = "Asia/Seoul"
    batch_rows: int = Field(default=65_536, ge=1, description="rows per columnar batch (bounds memory)")
    workers: int | None = Field(default=None, ge=1, le=64, description="threads that parse and validate "
                                "batches (memory holds about workers + 1 batches); default: the CPUs this "
                                "process may use, at most 8")
    xlsx_reader: Literal["auto", "calamine", "openpyxl"] = Field(
        default="auto", description="auto: calamine (fast, the sheet in memory) unless the sheet XML is over "
        "64 MB, then openpyxl's streaming reader (memory bounded by batch_rows)")
    max_field_chars: int = Field(default=10_000, ge=1, description="longer cells are quarantined")
    max_json_depth: int = Field(default=32, ge=2)
    max_document_mb: float = Field(default=256, gt=0, description="JSON documents and XML are read whole; "
                                   "larger files are refused (CSV/TSV, XLSX and JSON Lines stream and have no limit)")
    settle_seconds: float = Field(default=1.0, gt=0, description="watch: a file is read once its size and "
                                  "mtime are unchanged for this long")

    @field_validator("shifts")
    @classmethod
    def _check_shifts(cls, v: dict[str, str]) -> dict[str, str]:
        for name, start in v.items():
            hh, _, mm = start.partition(":")
            if not (hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60):
                raise ValueError(f"shift {name!r}: start {start!r} is not HH:MM")
        return v

    def mapping_for(self, path: Path, kind: RecordKind | None = None) -> MappingConfig | None:
        for m in self.mappings:
            if m.matches(path) and (kind is None or m.kind is None or m.kind is kind):
                return m
        return None

    def b2mml_schemas(self) -> Path | None:
        """Where the B2MML XSDs are: ``schema_dir``, else ``FACTORYPILOT_B2MML_SCHEMAS``, else
        ``FACTORYPILOT_HOME/b2mml`` when that folder exists; None: B2MML is ingested without a verdict."""
        from factorypilot.settings import get_settings

        if self.schema_dir is not None:
            return self.schema_dir
        settings = get_settings()
        if settings.b2mml_schemas is not None:
            return settings.b2mml_schemas
        in_home = settings.home / "b2mml"
        return in_home if in_home.is_dir() else None

    def mes_home(self) -> Path:
        from factorypilot.settings import get_settings

        return self.home if self.home is not None else get_settings().home / "mes"
