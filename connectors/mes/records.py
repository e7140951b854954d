"""Canonical MES record types: what every export format (CSV, XLSX, JSON, B2MML) is mapped to.

Timestamps are timezone-aware (UTC after ingest). ``shift`` and ``shift_date`` of production and scrap
records are derived from the local time and the configured shift table when the export has none.
``FIELDS`` describes each kind for the columnar validator: canonical field -> (type, required).
``NATURAL_KEYS`` lists the fields that identify a record across exports (a mapping may name its own ``key``):
the same key with the same values is a duplicate, with other values a *conflict* (quarantined or, by choice,
replaced — never silently). Every record keeps the export's unmapped columns verbatim in ``extra`` (JSON text).
Counts are never negative; ``STATUS_VALUES`` are the canonical production states (an export's words such as
완료/진행중/중단 are mapped to them in the mapping's ``enums``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "DEFAULT_ENUMS",
    "FIELDS",
    "MODELS",
    "NATURAL_KEYS",
    "NON_NEGATIVE",
    "STATUS_VALUES",
    "TIME_FIELD",
    "Downtime",
    "Equipment",
    "FieldType",
    "Lot",
    "Material",
    "MesRecord",
    "ProductionCount",
    "RecordKind",
    "Scrap",
    "Segment",
    "WorkOrder",
]

FieldType = Literal["str", "int", "float", "datetime"]


class RecordKind(StrEnum):
    WORK_ORDER = "work_order"
    PRODUCTION = "production"
    SCRAP = "scrap"
    DOWNTIME = "downtime"
    LOT = "lot"
    MATERIAL = "material"
    EQUIPMENT = "equipment"
    SEGMENT = "segment"


class MesRecord(BaseModel):
    """Base of the canonical records: frozen values; ``source_file``/``source_row``/``source_line`` say where it
    came from — the data record number and the physical line it starts on, as a quarantine entry's ``row`` and
    ``line``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source_file: str | None = None
    source_row: int | None = None
    source_line: int | None = None
    extra: str | None = None
    """The export's unmapped columns of this row, verbatim, as a JSON object (column name -> cell text)."""


class WorkOrder(MesRecord):
    order_id: str
    product: str | None = None
    quantity: float | None = None
    unit: str | None = None
    status: str | None = None
    equipment: str | None = None
    start: datetime | None = None
    end: datetime | None = None


class ProductionCount(MesRecord):
    equipment: str
    time: datetime
    good: int
    scrap: int = 0
    planned: int | None = None
    produced: int | None = None
    downtime_minutes: float | None = None
    status: str | None = None
    operator: str | None = None
    remarks: str | None = None
    order_id: str | None = None
    product: str | None = None
    lot_id: str | None = None
    shift: str | None = None
    shift_date: str | None = None


class Scrap(MesRecord):
    equipment: str
    time: datetime
    quantity: int
    reason: str | None = None
    order_id: str | None = None
    product: str | None = None
    lot_id: str | None = None
    shift: str | None = None
    shift_date: str | None = None


class Downtime(MesRecord):
    equipment: str
    start: datetime
    end: datetime | None = None
    minutes: float | None = None
    reason: str | None = None
    category: str | None = None


class Lot(MesRecord):
    lot_id: str
    material: str | None = None
    quantity: float | None = None
    unit: str | None = None
    status: str | None = None
    disposition: str | None = None
    location: str | None = None
    parent_lot: str | None = None
    """Set for a sub-lot (B2MML ``MaterialSubLot``): the lot it belongs to."""
    time: datetime | None = None


class Segment(MesRecord):
    """One material line of a B2MML segment response that is not the final (produced) count: intermediate
    segments and consumed material are kept here, never counted as production."""

    order_id: str
    segment_id: str
    material_use: str | None = None
    material: str | None = None
    lot_id: str | None = None
    quantity: float | None = None
    unit: str | None = None
    equipment: str | None = None
    time: datetime | None = None


class Material(MesRecord):
    material_id: str
    description: str | None = None
    unit: str | None = None
    material_class: str | None = None


class Equipment(MesRecord):
    equipment_id: str
    name: str | None = None
    level: str | None = None
    equipment_class: str | None = None
    parent: str | None = None


MODELS: dict[RecordKind, type[MesRecord]] = {
    RecordKind.WORK_ORDER: WorkOrder,
    RecordKind.PRODUCTION: ProductionCount,
    RecordKind.SCRAP: Scrap,
    RecordKind.DOWNTIME: Downtime,
    RecordKind.LOT: Lot,
    RecordKind.MATERIAL: Material,
    RecordKind.EQUIPMENT: Equipment,
    RecordKind.SEGMENT: Segment,
}

NATURAL_KEYS: dict[RecordKind, tuple[str, ...]] = {
    RecordKind.WORK_ORDER: ("order_id",),
    RecordKind.PRODUCTION: ("time", "shift", "equipment", "product", "order_id", "lot_id"),
    RecordKind.SCRAP: ("time", "shift", "equipment", "product", "order_id", "lot_id", "reason"),
    RecordKind.DOWNTIME: ("equipment", "start"),
    RecordKind.LOT: ("lot_id",),
    RecordKind.MATERIAL: ("material_id",),
    RecordKind.EQUIPMENT: ("equipment_id",),
    RecordKind.SEGMENT: ("order_id", "segment_id", "material_use", "material", "lot_id"),
}

TIME_FIELD: dict[RecordKind, str | None] = {
    RecordKind.WORK_ORDER: "start",
    RecordKind.PRODUCTION: "time",
    RecordKind.SCRAP: "time",
    RecordKind.DOWNTIME: "start",
    RecordKind.LOT: "time",
    RecordKind.MATERIAL: None,
    RecordKind.EQUIPMENT: None,
    RecordKind.SEGMENT: "time",
}

_DERIVED = {"shift_date", "extra"}

STATUS_VALUES: dict[RecordKind, tuple[str, ...]] = {
    RecordKind.PRODUCTION: ("planned", "running", "done", "stopped", "cancelled"),
}
"""Canonical values of ``status`` per kind (a kind not listed takes the export's text)."""

DEFAULT_ENUMS: dict[RecordKind, dict[str, dict[str, str]]] = {
    RecordKind.PRODUCTION: {"status": {
        "계획": "planned", "대기": "planned", "진행": "running", "진행중": "running", "작업중": "running",
        "완료": "done", "종료": "done", "중단": "stopped", "정지": "stopped", "보류": "stopped", "취소": "cancelled",
        "planned": "planned", "running": "running", "in progress": "running", "done": "done",
        "complete": "done", "completed": "done", "stopped": "stopped", "on hold": "stopped",
        "cancelled": "cancelled", "canceled": "cancelled"}},
}
"""Enums used when a mapping names none for the field: the usual Korean and English words."""

NON_NEGATIVE = frozenset({"good", "scrap", "planned", "produced", "downtime_minutes", "quantity", "minutes"})
"""Numeric fields that can never be below zero (a negative count is quarantined, code ``negative``)."""


def _fields(model: type[MesRecord]) -> dict[str, tuple[FieldType, bool]]:
    out: dict[str, tuple[FieldType, bool]] = {}
    for name, info in model.model_fields.items():
        if name in ("source_file", "source_row", "source_line") or name in _DERIVED:
            continue
        text = str(info.annotation)
        kind: FieldType = ("datetime" if "datetime" in text else "int" if "int" in text
                           else "float" if "float" in text else "str")
        out[name] = (kind, info.is_required())
    return out


FIELDS: dict[RecordKind, dict[str, tuple[FieldType, bool]]] = {k: _fields(m) for k, m in MODELS.items()}
"""Per kind: canonical field -> (type, required). Derived fields (``shift_date``) are not listed."""
