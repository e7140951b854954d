"""``MesFilesConnector`` (entry point ``mes-files``): MES file exports as typed records for agents.

Capabilities:
- ``EXPORT_FILES``: ``ingest(path)``, ``watch()``, ``records(kind, ...)``, plus ``scrap_rate_per_shift``
  and ``downtime_per_machine`` over the stored records;
- ``BROWSE`` / ``READ``: the running totals per equipment as read-only tags —
  ``<equipment>/good``, ``<equipment>/scrap`` (counts) and ``<equipment>/downtime_minutes`` — so a pilot can
  compare the MES view with the OPC-UA counters.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncGenerator
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from factorypilot.connectors.base import BaseConnector, Capability, Health
from factorypilot.connectors.mes._ingest import IngestReport, ingest_file
from factorypilot.connectors.mes._inspect import InspectReport, inspect_file
from factorypilot.connectors.mes._store import MesStore
from factorypilot.connectors.mes._tabular import Progress
from factorypilot.connectors.mes._watch import WatchEvent, watch_folder
from factorypilot.connectors.mes.config import MesFilesConfig
from factorypilot.connectors.mes.records import RecordKind
from factorypilot.errors import ConfigError, ConnectionError_, DataError, NodeNotFoundError
from factorypilot.vocabulary import DataType, Sample, Scalar, Tag, utcnow

__all__ = ["MesFilesConnector"]

_METRICS = {"good": ("양품 수량", "Good count", "pcs"), "scrap": ("불량 수량", "Scrap count", "pcs"),
            "downtime_minutes": ("비가동 시간", "Downtime", "min")}


def _kind(kind: str | RecordKind) -> RecordKind:
    try:
        return RecordKind(kind)
    except ValueError as exc:
        raise DataError(f"unknown record kind {kind!r}",
                        hint=f"kinds: {', '.join(k.value for k in RecordKind)}") from exc


class _OnFirstUse:
    """Stands in for the store until ingest really uses it: a file that is refused (no mapping covers it,
    unreadable, hostile XML) leaves no empty store file behind."""

    def __init__(self, connector: MesFilesConnector) -> None:
        self._connector = connector

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connector.store, name)


class MesFilesConnector(BaseConnector[MesFilesConfig]):
    name = "mes-files"
    Config = MesFilesConfig
    capabilities = frozenset({Capability.EXPORT_FILES, Capability.BROWSE, Capability.READ})

    def __init__(self, config: MesFilesConfig | None = None) -> None:
        super().__init__(config or MesFilesConfig())
        self._store: MesStore | None = None

    @property
    def store_path(self) -> Path:
        return self.config.mes_home() / f"{self.config.source}.sqlite"

    @property
    def store(self) -> MesStore:
        """The store file, opened (and created) on first use — a dry run on a new source creates nothing."""
        if not self._connected:
            raise ConnectionError_(f"connector {self.name!r} is not connected",
                                   hint="use it as 'async with connector:' or call connect() first")
        if self._store is None:
            self._store = MesStore(self.store_path)
        return self._store

    async def _connect(self) -> None:
        if self.store_path.exists():  # a damaged or older store is reported at connect, as before
            self._store = await asyncio.to_thread(MesStore, self.store_path)

    async def _close(self) -> None:
        if self._store is not None:
            store, self._store = self._store, None
            await asyncio.to_thread(store.close)

    async def health(self) -> Health:
        base = await super().health()
        return base.model_copy(update={"endpoint": str(self.store_path)})

    # -- files ---------------------------------------------------------------------------------------------
    async def ingest(self, path: str | Path, *, kind: str | RecordKind | None = None,
                     progress: Progress | None = None, dry_run: bool = False) -> IngestReport:
        """Ingest one export file; bad rows and conflicts go to the quarantine file named in the report.
        ``dry_run``: compare with the store and report what would happen, storing nothing."""
        self._need(Capability.EXPORT_FILES)
        k = _kind(kind) if kind is not None else None
        if dry_run and self._store is None and not self.store_path.exists():
            return await asyncio.to_thread(self._dry_run_on_empty, Path(path), k, progress)
        store = self._store if self._store is not None else cast(MesStore, _OnFirstUse(self))
        return await asyncio.to_thread(ingest_file, Path(path), self.config, store, kind=k, progress=progress,
                                       dry_run=dry_run)

    def _dry_run_on_empty(self, path: Path, kind: RecordKind | None, progress: Progress | None) -> IngestReport:
        """A dry run before anything was stored: compared with an empty store in a temporary folder, so the
        source's store file (and its folder) is not created."""
        with tempfile.TemporaryDirectory(prefix="fp-mes-dry-run-") as tmp:
            empty = MesStore(Path(tmp) / self.store_path.name)
            try:
                return ingest_file(path, self.config, empty, kind=kind, progress=progress, dry_run=True)
            finally:
                empty.close()

    async def inspect(self, path: str | Path, *, kind: str | RecordKind | None = None,
                      rows: int = 5) -> InspectReport:
        """What the connector sees in ``path`` and what the mapping would make of it (stores nothing)."""
        k = _kind(kind) if kind is not None else None
        return await asyncio.to_thread(inspect_file, Path(path), self.config, kind=k, rows=rows)

    def watch(self, folder: str | Path | None = None, *, stop_event: asyncio.Event | None = None,
              initial: bool = True) -> AsyncGenerator[WatchEvent, None]:
        """Ingest files appearing or changing in ``folder`` (default ``config.watch_dir``), once stable."""
        self._need(Capability.EXPORT_FILES)
        target = Path(folder) if folder is not None else self.config.watch_dir
        if target is None or not target.is_dir():
            raise ConfigError(f"watch folder {target} does not exist", where="watch_dir",
                              hint="set watch_dir in the config or pass an existing folder")
        return watch_folder(target, self.config.settle_seconds, self.ingest, stop_event=stop_event,
                            initial=initial)

    # -- queries -------------------------------------------------------------------------------------------
    async def _records(self, kind: str, *, since: datetime | None, filters: dict[str, Scalar],
                       limit: int | None) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.store.records, _kind(kind), since=since, filters=filters, limit=limit)

    async def scrap_rate_per_shift(self, since: datetime | None = None,
                                   equipment: str | None = None) -> list[dict[str, Any]]:
        self._need(Capability.EXPORT_FILES)
        return await asyncio.to_thread(self.store.scrap_rate_per_shift, since, equipment)

    async def downtime_per_machine(self, since: datetime | None = None) -> list[dict[str, Any]]:
        self._need(Capability.EXPORT_FILES)
        return await asyncio.to_thread(self.store.downtime_per_machine, since)

    # -- totals as tags ------------------------------------------------------------------------------------
    async def _browse(self) -> list[Tag]:
        totals = await asyncio.to_thread(self.store.totals_per_equipment)
        tags = []
        for equipment in sorted(totals):
            for metric in totals[equipment]:
                ko, en, unit = _METRICS[metric]
                tags.append(Tag(id=f"{equipment}/{metric}", name=f"{equipment} {en}",
                                display_names={"ko": f"{equipment} {ko}", "en": f"{equipment} {en}"},
                                unit=unit, data_type=DataType.FLOAT, writable=False,
                                description=f"total from ingested MES exports ({self.config.source})"))
        return tags

    async def _read(self, tag_ids: list[str]) -> list[Sample]:
        totals = await asyncio.to_thread(self.store.totals_per_equipment)
        now = utcnow()
        out = []
        for tag_id in tag_ids:
            equipment, _, metric = tag_id.rpartition("/")
            value = totals.get(equipment, {}).get(metric)
            if value is None:
                raise NodeNotFoundError(f"no MES total {tag_id!r}", where=str(self.store_path),
                                        hint="ids are <equipment>/good|scrap|downtime_minutes; see browse()")
            out.append(Sample(tag_id=tag_id, value=value, server_time=now))
        return out
