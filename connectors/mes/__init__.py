"""MES export connector (``mes-files``): CSV/TSV, XLSX, JSON/JSONL and ISA-95 B2MML XML -> typed records.

See ``docs/connectors/mes.md``. Public: the connector and its config, the canonical record types, and
the ingest/inspect/watch report types.
"""

from factorypilot.connectors.mes._b2mml import NS_V0401, NS_V0600, NS_V0700
from factorypilot.connectors.mes._ingest import IngestReport, detect_format
from factorypilot.connectors.mes._inspect import InspectReport
from factorypilot.connectors.mes._store import MesStore
from factorypilot.connectors.mes._watch import WatchEvent, wait_stable
from factorypilot.connectors.mes.config import MappingConfig, MesFilesConfig
from factorypilot.connectors.mes.connector import MesFilesConnector
from factorypilot.connectors.mes.records import (
    Downtime,
    Equipment,
    Lot,
    Material,
    MesRecord,
    ProductionCount,
    RecordKind,
    Scrap,
    Segment,
    WorkOrder,
)

__all__ = [
    "NS_V0401",
    "NS_V0600",
    "NS_V0700",
    "Downtime",
    "Equipment",
    "IngestReport",
    "InspectReport",
    "Lot",
    "MappingConfig",
    "Material",
    "MesFilesConfig",
    "MesFilesConnector",
    "MesRecord",
    "MesStore",
    "ProductionCount",
    "RecordKind",
    "Scrap",
    "Segment",
    "WatchEvent",
    "WorkOrder",
    "detect_format",
    "wait_stable",
]
