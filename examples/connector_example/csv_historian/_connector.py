"""``CsvHistorianConnector``: a data logger's CSV file (``time,tag,value[,unit]``) as a plant data source.

Many small plants have exactly this: a PLC or a logger appends one row per reading to a CSV file, often
in CP949 with Korean tag names. This connector browses the tags in it, reads the latest value of each,
serves history from the rows, and *subscribes* by following the file as rows are appended.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import Field

from factorypilot.connectors import BaseConnector, Capability, ConnectorConfig
from factorypilot.errors import ConnectionError_, DataError, NodeNotFoundError
from factorypilot.vocabulary import DataType, Gap, Sample, Scalar, Tag

__all__ = ["CsvHistorianConfig", "CsvHistorianConnector"]


class CsvHistorianConfig(ConnectorConfig):
    path: Path = Field(description="the CSV file the logger appends to")
    encoding: str = Field(default="utf-8", description="file encoding, e.g. cp949 for Korean Windows loggers")
    poll_s: float = Field(default=0.2, gt=0, description="how often subscribe() looks for new rows")


@dataclass(frozen=True)
class _Row:
    time: datetime
    tag: str
    value: Scalar
    unit: str | None


def _value(text: str) -> Scalar:
    try:
        return float(text)
    except ValueError:
        return text


def _parse(data: bytes, encoding: str, path: Path, first_line: int) -> list[_Row]:
    rows: list[_Row] = []
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DataError(f"cannot decode the file as {encoding}", file=str(path),
                        hint="set 'encoding' (cp949 for most Korean Windows loggers)") from exc
    for n, record in enumerate(csv.reader(io.StringIO(text)), start=first_line):
        if not record or record[0] == "time":
            continue
        if len(record) < 3:
            raise DataError("expected time,tag,value[,unit]", file=str(path), row=n)
        try:
            when = datetime.fromisoformat(record[0])
        except ValueError as exc:
            raise DataError(f"bad timestamp {record[0]!r}", file=str(path), row=n, column="time",
                            hint="use ISO 8601, e.g. 2026-11-25T09:00:00+09:00") from exc
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        rows.append(_Row(when, record[1], _value(record[2]), record[3] if len(record) > 3 and record[3] else None))
    return rows


class CsvHistorianConnector(BaseConnector[CsvHistorianConfig]):
    name = "csv-historian"
    Config = CsvHistorianConfig
    capabilities = frozenset({Capability.BROWSE, Capability.READ, Capability.SUBSCRIBE, Capability.HISTORY})

    def __init__(self, config: CsvHistorianConfig) -> None:
        super().__init__(config)
        self._rows: list[_Row] = []
        self._offset = 0  # bytes of the file already parsed
        self._lines = 1

    async def _connect(self) -> None:
        if not await asyncio.to_thread(self.config.path.is_file):
            raise ConnectionError_("the historian file does not exist", where=str(self.config.path),
                                   hint="check 'path' (the logger's output file)")
        self._rows, self._offset, self._lines = [], 0, 1
        await self._refresh()

    async def _close(self) -> None:
        self._rows = []

    async def _refresh(self) -> list[_Row]:
        """Parse whatever complete lines were appended since the last call (off the event loop)."""
        def tail() -> bytes:
            with self.config.path.open("rb") as f:
                f.seek(self._offset)
                data = f.read()
            return data[: data.rfind(b"\n") + 1]  # only complete lines

        data = await asyncio.to_thread(tail)
        if not data:
            return []
        new = await asyncio.to_thread(_parse, data, self.config.encoding, self.config.path, self._lines)
        self._offset += len(data)
        self._lines += data.count(b"\n")
        self._rows += new
        return new

    def _latest(self) -> dict[str, _Row]:
        latest: dict[str, _Row] = {}
        for row in self._rows:
            latest[row.tag] = row
        return latest

    def _known(self, tag_ids: list[str]) -> dict[str, _Row]:
        latest = self._latest()
        for t in tag_ids:
            if t not in latest:
                raise NodeNotFoundError(f"tag {t} is not in the historian file", where=str(self.config.path),
                                        hint="browse() lists the tags the file contains")
        return latest

    async def _browse(self) -> list[Tag]:
        await self._refresh()
        tags = []
        for tag, row in self._latest().items():
            numeric = all(isinstance(r.value, float) for r in self._rows if r.tag == tag)
            tags.append(Tag(id=tag, name=tag, unit=row.unit,
                            data_type=DataType.FLOAT if numeric else DataType.STRING))
        return tags

    async def _read(self, tag_ids: list[str]) -> list[Sample]:
        await self._refresh()
        latest = self._known(tag_ids)
        return [Sample(tag_id=t, value=latest[t].value, source_time=latest[t].time) for t in tag_ids]

    async def _history(self, tag_ids: list[str], start: datetime, end: datetime) -> list[Sample]:
        await self._refresh()
        self._known(tag_ids)
        wanted = set(tag_ids)
        return [Sample(tag_id=r.tag, value=r.value, source_time=r.time) for r in self._rows
                if r.tag in wanted and start <= r.time <= end]

    async def _subscribe(self, tag_ids: list[str], period: float) -> AsyncGenerator[Sample | Gap, None]:
        for sample in await self._read(tag_ids):
            yield sample
        wanted = set(tag_ids)
        while True:
            await asyncio.sleep(self.config.poll_s)
            for row in await self._refresh():
                if row.tag in wanted:
                    yield Sample(tag_id=row.tag, value=row.value, source_time=row.time)
